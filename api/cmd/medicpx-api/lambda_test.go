package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/api"
	"medicpx/shared/config"
	"medicpx/shared/keys"
	"medicpx/shared/rie"
	"medicpx/shared/s3client"
	"medicpx/shared/versity/versitytest"
)

// TestLambdaAPIGateway runs the API's bootstrap under aws-lambda-rie and sends it the API Gateway
// HTTP API (payload v2) fixtures of testdata/apigw, against a real versitygw: the Lambda path is the
// same router and middleware as the local server.
func TestLambdaAPIGateway(t *testing.T) {
	env := versitytest.Start(t, "")
	const secret = "lambda-test-secret-at-least-32-bytes!"
	id := "44444444-4444-4444-8444-444444444444"
	key := keys.OriginalKey("1", id, "jpg")
	for _, k := range []string{key, keys.ThumbnailKey("1", id, 320, "jpg"), keys.ThumbnailKey("1", id, 1280, "jpg")} {
		if _, err := env.Client.PutObject(context.Background(), &s3.PutObjectInput{
			Bucket: aws.String(versitytest.Bucket), Key: aws.String(k), Body: strings.NewReader("img"),
		}); err != nil {
			t.Fatal(err)
		}
	}
	bootstrap, err := rie.BuildBootstrap(t.TempDir(), "./api/cmd/medicpx-api")
	if err != nil {
		t.Fatal(err)
	}
	var out io.Writer
	if testing.Verbose() {
		out = os.Stderr
	}
	fn, err := rie.Start(bootstrap, append(env.Vars, "JWT_SECRET="+secret), out)
	if err != nil {
		t.Fatal(err)
	}
	defer fn.Stop()
	token, err := api.SignHS256([]byte(secret), "prof", "professor", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// In order: the delete comes last.
	tests := []struct {
		fixture string
		status  int
		body    string // substring
	}{
		{"healthz.json", 200, `"ok"`},
		{"openapi.json", 200, "openapi: 3"},
		{"list-images-no-auth.json", 401, "detail"},
		{"list-images.json", 200, `"total_count":1`},
		{"get-representative.json", 200, key},
		{"pin-representative.json", 200, "대표 환자 이미지를 지정했습니다."},
		{"get-image.json", 200, `"status":"ready"`},
		{"upload-url.json", 200, "upload_url"},
		{"download-url.json", 200, "download_url"},
		{"delete-image.json", 200, "삭제되었습니다"},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "apigw", tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			raw = bytes.ReplaceAll(raw, []byte("{{TOKEN}}"), []byte(token))
			raw = bytes.ReplaceAll(raw, []byte("{{KEY}}"), []byte(key))
			raw = bytes.ReplaceAll(raw, []byte("{{FILENAME}}"), []byte(keys.Filename(key)))
			payload, err := fn.Invoke(context.Background(), raw)
			if err != nil {
				t.Fatal(err)
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(payload, &resp); err != nil {
				t.Fatalf("not an API Gateway v2 response: %s", payload)
			}
			if resp.StatusCode != tt.status || !strings.Contains(resp.Body, tt.body) {
				t.Fatalf("%d %s, want %d containing %q", resp.StatusCode, resp.Body, tt.status, tt.body)
			}
			if tt.status == 401 && !strings.HasPrefix(resp.Headers["Www-Authenticate"]+resp.Headers["WWW-Authenticate"], "Bearer") {
				t.Fatalf("401 without WWW-Authenticate: %v", resp.Headers)
			}
		})
	}
	if _, err := env.Client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(versitytest.Bucket), Key: aws.String(key)}); err == nil {
		t.Fatal("the delete through Lambda left the original")
	}

	// Crafted paths: API Gateway decodes the path before the function sees it (see package
	// apigw). Each must get the JSON error a local server gives for what the client sent, never a
	// failed invocation. The one exception is an encoded "/", which reaches the function as a
	// separator: an unknown route (404) instead of a bad name (400), refused either way.
	local := localServer(t, env, secret)
	crafted := []struct {
		fixture, sent string // the fixture, and the path as the client sent it
		status, local int
	}{
		{"path-percent.json", "/patient-images/scenarios/1%25/images", 400, 400},
		{"path-question-mark.json", "/patient-images/scenarios/1%3Fx/images", 400, 400},
		{"path-korean.json", "/patient-images/scenarios/1/images/%ED%99%98%EC%9E%90%EC%82%AC%EC%A7%84.jpg", 400, 400},
		{"path-encoded-slash.json", "/patient-images/scenarios/1/images/..%2F..%2F..%2Fhealthz", 404, 400},
	}
	for _, c := range crafted {
		t.Run(c.fixture, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "apigw", c.fixture))
			if err != nil {
				t.Fatal(err)
			}
			payload, err := fn.Invoke(context.Background(), bytes.ReplaceAll(raw, []byte("{{TOKEN}}"), []byte(token)))
			if err != nil {
				t.Fatalf("the invocation failed (API Gateway answers a bare 5xx): %v", err)
			}
			var resp events.APIGatewayV2HTTPResponse
			if err := json.Unmarshal(payload, &resp); err != nil || resp.StatusCode == 0 {
				t.Fatalf("not an API Gateway v2 response: %s", payload)
			}
			var body struct{ Detail string }
			if resp.StatusCode != c.status || json.Unmarshal([]byte(resp.Body), &body) != nil || body.Detail == "" {
				t.Fatalf("Lambda: %d %s, want %d with a detail", resp.StatusCode, resp.Body, c.status)
			}
			req, _ := http.NewRequest(http.MethodGet, local+c.sent, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			lr, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			lr.Body.Close()
			if lr.StatusCode != c.local {
				t.Fatalf("local server: %d for %s, want %d", lr.StatusCode, c.sent, c.local)
			}
		})
	}
}

// localServer serves the same API as the bootstrap over plain HTTP, to compare answers.
func localServer(t *testing.T, env *versitytest.Env, secret string) string {
	t.Helper()
	cfg := config.API{S3: env.S3, JWT: config.JWT{Secret: secret}, UploadTTL: time.Hour, DownloadMaxTTL: time.Hour, ListURLWindow: time.Hour}
	client, err := s3client.New(context.Background(), cfg.S3)
	if err != nil {
		t.Fatal(err)
	}
	v, err := api.NewVerifier(context.Background(), cfg.JWT)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(api.New(cfg, client, v, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(hs.Close)
	return hs.URL
}
