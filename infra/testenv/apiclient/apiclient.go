// Package apiclient is the one Go client of the medicpx API for tests and dev tooling (the smoke
// test, the burst, the suites of every package), after benbjohnson/wtf's http/dial.go: each route
// is called, and each response shape declared, here and nowhere else. It holds no testing.T, so
// the smoke and burst binaries use it as the tests do; a test wraps its errors as it likes.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"medicpx/shared/imagepolicy"
	"medicpx/shared/keys"
	"medicpx/shared/s3client"
)

// Client calls the API at BaseURL with Token (none when empty) through HTTP
// (http.DefaultClient when nil).
type Client struct {
	BaseURL string
	Token   string
	HTTP    *http.Client
}

// New is a client of the API at baseURL with token.
func New(baseURL, token string) *Client {
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token}
}

// As is the same API called with another token.
func (c *Client) As(token string) *Client {
	d := *c
	d.Token = token
	return &d
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// APIError is an answer other than 2xx, with the JSON detail the API gives (or, from S3 or when
// there is none, the body as it came).
type APIError struct {
	Method, URL string
	Status      int
	Detail      string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.URL, e.Status, e.Detail)
}

// StatusOf is the HTTP status a call's error stands for: 200 for none (every route of the API
// answers 200 when it succeeds), an APIError's status, and 0 when there was no answer at all.
func StatusOf(err error) int {
	var e *APIError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &e):
		return e.Status
	default:
		return 0
	}
}

// Do sends body (JSON; none when nil) to path (relative to BaseURL when it starts with "/", else
// a whole URL such as a status_url) and decodes a 2xx answer's JSON into out (when not nil). It
// returns the answer's status (0 when there was none) and, for a status other than 2xx, an
// *APIError.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) (int, error) {
	u := path
	if strings.HasPrefix(path, "/") {
		u = c.BaseURL + path
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, newAPIError(method, path, resp.StatusCode, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

func newAPIError(method, u string, status int, raw []byte) *APIError {
	e := &APIError{Method: method, URL: u, Status: status, Detail: string(bytes.TrimSpace(raw))}
	var d struct {
		Detail string `json:"detail"`
	}
	if json.Unmarshal(raw, &d) == nil && d.Detail != "" {
		e.Detail = d.Detail
	}
	return e
}

// scenarioOf is the scenario an original's key belongs to.
func scenarioOf(key string) (string, error) {
	k, err := keys.Parse(key)
	if err != nil {
		return "", err
	}
	return k.Scenario, nil
}

// imagePath is the route of one upload: its status (GET) and caption (PATCH).
func imagePath(key string) (string, error) {
	sc, err := scenarioOf(key)
	if err != nil {
		return "", err
	}
	return "/patient-images/scenarios/" + sc + "/images/" + keys.Filename(key), nil
}

// Image is an item of a listing, the representative, and what pin, caption and restore answer.
type Image struct {
	S3Key            string `json:"s3_key"`
	S3URL            string `json:"s3_url"`
	Filename         string `json:"filename"`
	FileSize         int64  `json:"file_size"`
	LastModified     string `json:"last_modified"`
	ETag             string `json:"etag"`
	Status           string `json:"status"`
	URL              string `json:"url"`
	ThumbnailURL     string `json:"thumbnail_url"`
	DisplayURL       string `json:"display_url"`
	OriginalFilename string `json:"original_filename"`
	Caption          string `json:"caption"`
}

// UploadRequest is the body of POST /patient-images/upload-url/{scenario}.
type UploadRequest struct {
	Filename      string `json:"filename"`
	ContentType   string `json:"content_type"`
	ContentLength int    `json:"content_length"`
	Method        string `json:"method,omitempty"` // PUT (the API's default) or POST
	// ChecksumSHA256 is the bytes' SHA-256 (standard base64), as the page declares it: the URL
	// then makes S3 check and keep it.
	ChecksumSHA256 string `json:"checksum_sha256,omitempty"`
}

// UploadGrant is what upload-url answers: where to send the bytes, and how.
type UploadGrant struct {
	ScenarioID       string            `json:"scenario_id"`
	OriginalFilename string            `json:"original_filename"`
	StoredFilename   string            `json:"stored_filename"`
	UploadMethod     string            `json:"upload_method"`
	UploadURL        string            `json:"upload_url"`
	UploadHeaders    map[string]string `json:"upload_headers"`
	UploadFields     map[string]string `json:"upload_fields"`
	FileType         string            `json:"file_type"`
	FileSize         int64             `json:"file_size"`
	ExpiresIn        int               `json:"expires_in"`
	S3URL            string            `json:"s3_url"`
	S3Key            string            `json:"s3_key"`
	StatusURL        string            `json:"status_url"`
	Message          string            `json:"message"`

	http *http.Client
}

// UploadURL asks for a presigned upload into scenario.
func (c *Client) UploadURL(ctx context.Context, scenario string, r UploadRequest) (*UploadGrant, error) {
	g := &UploadGrant{http: c.http()}
	if _, err := c.Do(ctx, http.MethodPost, "/patient-images/upload-url/"+scenario, r, g); err != nil {
		return nil, err
	}
	// A status_url relative to the API is made whole, so it can be polled as it is.
	if strings.HasPrefix(g.StatusURL, "/") {
		g.StatusURL = c.BaseURL + g.StatusURL
	}
	return g, nil
}

// PresignPut asks for a presigned PUT of length bytes named filename (PutRequest).
func (c *Client) PresignPut(ctx context.Context, scenario, filename string, length int) (*UploadGrant, error) {
	return c.UploadURL(ctx, scenario, PutRequest(filename, length))
}

// PutRequest is the upload-url request for a PUT of length bytes named filename, declaring the
// type its extension stands for (none for an extension the policy does not know).
func PutRequest(filename string, length int) UploadRequest {
	typ, _ := imagepolicy.ByExt(filename[strings.LastIndexByte(filename, '.')+1:])
	return UploadRequest{Filename: filename, ContentType: typ.MIME, ContentLength: length, Method: http.MethodPut}
}

// Upload asks for a presigned PUT and sends data through it, which must answer 200.
func (c *Client) Upload(ctx context.Context, scenario, filename string, data []byte) (*UploadGrant, error) {
	g, err := c.PresignPut(ctx, scenario, filename, len(data))
	if err != nil {
		return nil, err
	}
	if _, err := g.Put(ctx, data, nil); err != nil {
		return nil, err
	}
	return g, nil
}

// Put sends data through a PUT grant, as often as the caller likes, with the headers it was told
// to send plus extra (which the URL does not sign). It returns S3's status (0 when none) and, for
// one other than 200, an *APIError.
func (g *UploadGrant) Put(ctx context.Context, data []byte, extra map[string]string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, g.UploadURL, bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	for k, v := range g.UploadHeaders {
		req.Header.Set(k, v)
	}
	for k, v := range extra {
		req.Header.Set(k, v)
	}
	return g.send(req)
}

// Post sends data as the file of a POST grant's form, after its fields; it returns S3's status
// (0 when none) and, for one other than 2xx, an *APIError.
func (g *UploadGrant) Post(ctx context.Context, data []byte) (int, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range g.UploadFields {
		if err := w.WriteField(k, v); err != nil {
			return 0, err
		}
	}
	fw, err := w.CreateFormFile("file", g.StoredFilename)
	if err != nil {
		return 0, err
	}
	if _, err := fw.Write(data); err != nil {
		return 0, err
	}
	if err := w.Close(); err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.UploadURL, &buf)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	return g.send(req)
}

func (g *UploadGrant) send(req *http.Request) (int, error) {
	hc := g.http
	if hc == nil {
		hc = http.DefaultClient
	}
	for attempt := 1; ; attempt++ {
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return resp.StatusCode, nil
		}
		// versitygw's folder race (s3client.FolderRaceCode), retried as the service's clients
		// and the page retry it, so a test meets the local server's race no more than they do.
		if resp.StatusCode == http.StatusConflict && bytes.Contains(raw, []byte("<Code>"+s3client.FolderRaceCode+"</Code>")) &&
			attempt < 5 && req.GetBody != nil {
			if req.Body, err = req.GetBody(); err != nil {
				return 0, err
			}
			time.Sleep(time.Duration(attempt) * 20 * time.Millisecond)
			continue
		}
		return resp.StatusCode, newAPIError(req.Method, g.S3Key, resp.StatusCode, raw)
	}
}

// UploadStatus is what the status route says of one upload.
type UploadStatus struct {
	ScenarioID     string   `json:"scenario_id"`
	S3Key          string   `json:"s3_key"`
	Filename       string   `json:"filename"`
	Status         string   `json:"status"` // processing, ready or rejected
	Reason         string   `json:"reason"`
	Image          *Image   `json:"image"`
	Message        string   `json:"message"`
	Removed        []string `json:"removed"`
	RemovedMessage string   `json:"removed_message"`
}

// Status is what the status route says of the upload of key.
func (c *Client) Status(ctx context.Context, key string) (UploadStatus, error) {
	p, err := imagePath(key)
	if err != nil {
		return UploadStatus{}, err
	}
	return c.StatusAt(ctx, p)
}

// StatusAt is what a status_url (whole, or relative to the API) answers.
func (c *Client) StatusAt(ctx context.Context, statusURL string) (UploadStatus, error) {
	var st UploadStatus
	if _, err := c.Do(ctx, http.MethodGet, statusURL, nil, &st); err != nil {
		return UploadStatus{}, err
	}
	return st, nil
}

// ListOptions pages a listing: Limit 0 and Cursor "" are the API's defaults.
type ListOptions struct {
	Limit  int
	Cursor string
}

// Listing is a page of a scenario's images.
type Listing struct {
	ScenarioID string  `json:"scenario_id"`
	Images     []Image `json:"images"`
	TotalCount int     `json:"total_count"`
	Message    string  `json:"message"`
	NextCursor string  `json:"next_cursor"`
}

// List is a page of the images of scenario the caller may see.
func (c *Client) List(ctx context.Context, scenario string, o ListOptions) (Listing, error) {
	q := url.Values{}
	if o.Limit != 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	p := "/patient-images/scenarios/" + scenario + "/images"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	var l Listing
	if _, err := c.Do(ctx, http.MethodGet, p, nil, &l); err != nil {
		return Listing{}, err
	}
	return l, nil
}

// Representative is the scenario's representative image, nil when it has none.
func (c *Client) Representative(ctx context.Context, scenario string) (*Image, error) {
	var r struct {
		Image *Image `json:"image"`
	}
	if _, err := c.Do(ctx, http.MethodGet, "/patient-images/scenarios/"+scenario+"/image", nil, &r); err != nil {
		return nil, err
	}
	return r.Image, nil
}

// Pin makes the image of key its scenario's representative.
func (c *Client) Pin(ctx context.Context, key string) (Image, error) {
	sc, err := scenarioOf(key)
	if err != nil {
		return Image{}, err
	}
	return c.image(ctx, http.MethodPut, "/patient-images/scenarios/"+sc+"/image", map[string]string{"s3_key": key})
}

// SetCaption sets the caption of the image of key.
func (c *Client) SetCaption(ctx context.Context, key, caption string) (Image, error) {
	p, err := imagePath(key)
	if err != nil {
		return Image{}, err
	}
	return c.image(ctx, http.MethodPatch, p, map[string]string{"caption": caption})
}

// image is a call whose answer carries one Image.
func (c *Client) image(ctx context.Context, method, path string, body any) (Image, error) {
	var r struct {
		Image Image `json:"image"`
	}
	if _, err := c.Do(ctx, method, path, body, &r); err != nil {
		return Image{}, err
	}
	return r.Image, nil
}

// SetOrder arranges the scenario's images; it returns the originals in their new order.
func (c *Client) SetOrder(ctx context.Context, scenario string, s3Keys []string) ([]string, error) {
	var r struct {
		S3Keys []string `json:"s3_keys"`
	}
	if _, err := c.Do(ctx, http.MethodPut, "/patient-images/scenarios/"+scenario+"/order", map[string][]string{"s3_keys": s3Keys}, &r); err != nil {
		return nil, err
	}
	return r.S3Keys, nil
}

// Download is what download-url answers.
type Download struct {
	ScenarioID  string `json:"scenario_id"`
	S3Key       string `json:"s3_key"`
	DownloadURL string `json:"download_url"`
	ExpiresIn   int    `json:"expires_in"`
	Message     string `json:"message"`
}

// DownloadURL asks for a presigned GET of the original of key, valid expiresIn seconds (0: the
// API's default).
func (c *Client) DownloadURL(ctx context.Context, key string, expiresIn int) (Download, error) {
	sc, err := scenarioOf(key)
	if err != nil {
		return Download{}, err
	}
	body := map[string]any{"s3_key": key}
	if expiresIn != 0 {
		body["expires_in"] = expiresIn
	}
	var d Download
	if _, err := c.Do(ctx, http.MethodPost, "/patient-images/download-url/"+sc, body, &d); err != nil {
		return Download{}, err
	}
	return d, nil
}

// Deleted is what a delete answers.
type Deleted struct {
	Message   string `json:"message"`
	S3Key     string `json:"s3_key"`
	Permanent bool   `json:"permanent"`
}

// Delete moves the image of key to the trash; with permanent, removes it for good.
func (c *Client) Delete(ctx context.Context, key string, permanent bool) (Deleted, error) {
	sc, err := scenarioOf(key)
	if err != nil {
		return Deleted{}, err
	}
	p := "/patient-images/" + sc + "?s3_key=" + url.QueryEscape(key)
	if permanent {
		p += "&permanent=true"
	}
	return c.deleted(ctx, p)
}

// Purge deletes for good the image of key that is in the trash.
func (c *Client) Purge(ctx context.Context, key string) (Deleted, error) {
	sc, err := scenarioOf(key)
	if err != nil {
		return Deleted{}, err
	}
	return c.deleted(ctx, "/patient-images/scenarios/"+sc+"/trash?s3_key="+url.QueryEscape(key))
}

func (c *Client) deleted(ctx context.Context, path string) (Deleted, error) {
	var d Deleted
	if _, err := c.Do(ctx, http.MethodDelete, path, nil, &d); err != nil {
		return Deleted{}, err
	}
	return d, nil
}

// Restored is what a restore from the trash answers.
type Restored struct {
	ScenarioID     string `json:"scenario_id"`
	Image          Image  `json:"image"`
	Representative bool   `json:"representative"`
	Message        string `json:"message"`
}

// Restore puts the image of key back from the trash.
func (c *Client) Restore(ctx context.Context, key string) (Restored, error) {
	sc, err := scenarioOf(key)
	if err != nil {
		return Restored{}, err
	}
	var r Restored
	if _, err := c.Do(ctx, http.MethodPost, "/patient-images/scenarios/"+sc+"/trash/restore", map[string]string{"s3_key": key}, &r); err != nil {
		return Restored{}, err
	}
	return r, nil
}

// TrashedImage is an item of the trash.
type TrashedImage struct {
	S3Key            string `json:"s3_key"`
	Filename         string `json:"filename"`
	OriginalFilename string `json:"original_filename"`
	Caption          string `json:"caption"`
	FileSize         int64  `json:"file_size"`
	DeletedAt        string `json:"deleted_at"`
	ExpiresAt        string `json:"expires_at"`
	ThumbnailURL     string `json:"thumbnail_url"`
}

// TrashList is the scenario's trash, newest first.
type TrashList struct {
	ScenarioID    string         `json:"scenario_id"`
	Images        []TrashedImage `json:"images"`
	TotalCount    int            `json:"total_count"`
	RetentionDays int            `json:"retention_days"`
	Message       string         `json:"message"`
}

// Trash is the scenario's trash.
func (c *Client) Trash(ctx context.Context, scenario string) (TrashList, error) {
	var l TrashList
	if _, err := c.Do(ctx, http.MethodGet, "/patient-images/scenarios/"+scenario+"/trash", nil, &l); err != nil {
		return TrashList{}, err
	}
	return l, nil
}

// Rejection is an upload the processor refused.
type Rejection struct {
	S3Key            string `json:"s3_key"`
	Filename         string `json:"filename"`
	OriginalFilename string `json:"original_filename"`
	Reason           string `json:"reason"`
	Message          string `json:"message"`
	RejectedAt       string `json:"rejected_at"`
}

// RejectionList is the scenario's newest rejections.
type RejectionList struct {
	ScenarioID string      `json:"scenario_id"`
	Rejections []Rejection `json:"rejections"`
	TotalCount int         `json:"total_count"`
	Message    string      `json:"message"`
}

// Rejections is the scenario's newest rejected uploads.
func (c *Client) Rejections(ctx context.Context, scenario string) (RejectionList, error) {
	var l RejectionList
	if _, err := c.Do(ctx, http.MethodGet, "/patient-images/scenarios/"+scenario+"/rejections", nil, &l); err != nil {
		return RejectionList{}, err
	}
	return l, nil
}

// LinkStatus is what a URL answers a GET with no token, not following a redirect: for an s3_url,
// 302 while the image is ready, else 404.
func (c *Client) LinkStatus(ctx context.Context, u string) (int, error) {
	hc := *c.http()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Fetch GETs a presigned URL (no token), which must answer 200; it returns the body (at most
// 16 MiB) and its Content-Type.
func (c *Client) Fetch(ctx context.Context, u string) ([]byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode != http.StatusOK {
		return nil, "", newAPIError(http.MethodGet, u, resp.StatusCode, b)
	}
	return b, resp.Header.Get("Content-Type"), err
}
