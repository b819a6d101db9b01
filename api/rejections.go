package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"medicpx/shared/catalog"
	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
	"medicpx/shared/s3client"
)

const (
	// maxRejections bounds the per-object reads (the reason is object metadata, which a listing
	// does not carry): the newest ones are what a professor looks for after a batch.
	maxRejections = 50
	// rejectionReads is how many of those reads run at once.
	rejectionReads = 8
)

type rejection struct {
	S3Key            string             `json:"s3_key"`
	Filename         string             `json:"filename"`
	OriginalFilename string             `json:"original_filename"`
	Reason           imagepolicy.Reason `json:"reason"`
	Message          string             `json:"message"`
	RejectedAt       string             `json:"rejected_at"`
}

// rejections is GET …/rejections (staff): the newest uploads the processor refused, read from
// quarantine, with the reason in plain Korean and the name the professor picked.
func (s *Server) rejections(w http.ResponseWriter, r *http.Request) error {
	scenario, err := scenarioID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	root := keys.QuarantineRoot
	var found []original
	err = s.list(ctx, root+keys.ScenarioPrefix(scenario), true, func(o types.Object) {
		if k, err := keys.ParseOriginal(strings.TrimPrefix(aws.ToString(o.Key), root), scenario); err == nil {
			found = append(found, original{key: k, obj: o})
		}
	})
	if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	slices.SortFunc(found, func(a, b original) int {
		if c := aws.ToTime(b.obj.LastModified).Compare(aws.ToTime(a.obj.LastModified)); c != 0 {
			return c
		}
		return strings.Compare(a.key.String(), b.key.String())
	})
	found = found[:min(len(found), maxRejections)]
	c, err := s.catalogForReading(ctx, scenario)
	if err != nil {
		return wrapError(EInternal, msgInternal, err)
	}
	items := make([]rejection, len(found))
	errs := make([]error, len(found))
	sem := make(chan struct{}, rejectionReads)
	var wg sync.WaitGroup
	for i, o := range found {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			items[i], errs[i] = s.rejectionOf(ctx, o, c)
		}()
	}
	wg.Wait()
	out := items[:0]
	for i, it := range items {
		switch {
		case errs[i] == nil:
			out = append(out, it)
		case s3client.IsNotFound(errs[i]): // expired between the listing and the read
		default:
			return wrapError(EInternal, msgInternal, errs[i])
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"scenario_id": scenario, "rejections": out, "total_count": len(out),
		"message": fmt.Sprintf("최근 등록되지 않은 업로드 %d개를 조회했습니다.", len(out)),
	})
	return nil
}

func (s *Server) rejectionOf(ctx context.Context, o original, c *catalog.Catalog) (rejection, error) {
	key := o.key.String()
	head, err := s.store.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.cfg.S3.Bucket), Key: aws.String(keys.QuarantineKey(key))})
	if err != nil {
		return rejection{}, err
	}
	reason := imagepolicy.Reason(head.Metadata[keys.MetaReason])
	return rejection{
		S3Key: key, Filename: keys.Filename(key), OriginalFilename: c.Entry(o.key.ID).OriginalFilename,
		Reason: reason, Message: reason.Message(),
		RejectedAt: aws.ToTime(o.obj.LastModified).UTC().Format(time.RFC3339),
	}, nil
}
