package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"medicpx/api"
	"medicpx/infra/testenv/apiclient"
	"medicpx/infra/testenv/rie"
	"medicpx/infra/testenv/versity/versitytest"
	"medicpx/shared/config"
	"medicpx/shared/keys"
	"medicpx/shared/s3client"
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
	// The s3_url the listing gives is the API's own origin (API Gateway's domain name in the
	// request) and the key path; following it without a token is a redirect to the checked original.
	link := `"s3_url":"https://abcdef1234.execute-api.ap-northeast-2.amazonaws.com/` + key + `"`
	redirects := func(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
		loc, cc := resp.Headers["Location"], resp.Headers["Cache-Control"]
		if !strings.Contains(loc, "/"+key+"?") || !strings.Contains(loc, "X-Amz-Signature=") || !strings.HasPrefix(cc, "private, max-age=") {
			t.Fatalf("Location %q, Cache-Control %q: want a presigned GET of %s, private", loc, cc, key)
		}
	}
	tests := []struct {
		fixture string
		status  int
		body    string // substring
		check   func(*testing.T, events.APIGatewayV2HTTPResponse)
	}{
		{"healthz.json", 200, `"ok"`, nil},
		{"openapi.json", 200, "openapi: 3", nil},
		{"list-images-no-auth.json", 401, "detail", nil},
		{"list-images.json", 200, link, nil},
		{"image-link.json", 302, "", redirects},
		{"get-representative.json", 200, link, nil},
		{"pin-representative.json", 200, "대표 환자 이미지를 지정했습니다.", nil},
		{"get-image.json", 200, `"status":"ready"`, nil},
		{"upload-url.json", 200, "upload_url", nil},
		{"download-url.json", 200, "download_url", nil},
		{"delete-image.json", 200, "삭제되었습니다", nil},
		// Deleted: the same link is now a 404, with nothing to follow.
		{"image-link.json", 404, "detail", func(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
			if resp.Headers["Location"] != "" {
				t.Fatalf("a deleted image still redirects: %v", resp.Headers)
			}
		}},
		// It is in the trash, and comes back from it.
		{"list-trash.json", 200, `"s3_key":"` + key + `"`, nil},
		{"restore-from-trash.json", 200, `"representative":true`, nil}, // it was pinned: the pin comes back too
		{"image-link.json", 302, "", redirects},
		{"set-caption.json", 200, `"caption":"오른쪽 뺨의 발진, 3일 전부터"`, nil},
		{"set-order.json", 200, `"s3_keys":["` + key + `"]`, nil},
		{"list-rejections.json", 200, `"rejections":[]`, nil},
		{"delete-image.json", 200, "삭제되었습니다", nil},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i, "-", tt.fixture), func(t *testing.T) {
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
			if tt.check != nil {
				tt.check(t, resp)
			}
		})
	}
	if _, err := env.Client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(versitytest.Bucket), Key: aws.String(key)}); err == nil {
		t.Fatal("the delete through Lambda left the original")
	}
	if _, err := env.Client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(versitytest.Bucket), Key: aws.String(keys.TrashKey(key))}); err != nil {
		t.Fatalf("the delete through Lambda did not keep the original in the trash: %v", err)
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
			code, err := apiclient.New(local, token).Do(t.Context(), http.MethodGet, c.sent, nil, nil)
			if code == 0 {
				t.Fatal(err)
			}
			if code != c.local {
				t.Fatalf("local server: %d for %s, want %d", code, c.sent, c.local)
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

// secretStore is a local stand-in for the Secrets Manager and SSM APIs (JSON 1.1 over HTTP, as
// the AWS SDK speaks them): GetSecretValue and GetParameter for one secret, whose value the test
// rotates. The function reaches it with its real SDK clients, through the SDK's endpoint
// overrides AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL_SSM.
type secretStore struct {
	name  string
	mu    sync.Mutex
	value string
	calls []string // X-Amz-Target of every signed call
}

func (s *secretStore) rotate(v string) {
	s.mu.Lock()
	s.value = v
	s.mu.Unlock()
}

func (s *secretStore) targets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *secretStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var in struct {
		SecretID       string `json:"SecretId"`
		Name           string `json:"Name"`
		WithDecryption bool   `json:"WithDecryption"`
	}
	body, _ := io.ReadAll(r.Body)
	target := r.Header.Get("X-Amz-Target")
	auth := r.Header.Get("Authorization")
	fail := func(typ string) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":%q,"message":"stand-in: %s"}`, typ, typ)
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" || json.Unmarshal(body, &in) != nil {
		fail("SerializationException")
		return
	}
	// The real SDK signs with the function's credentials (SigV4, the service's signing name).
	service := map[string]string{"secretsmanager.GetSecretValue": "secretsmanager", "AmazonSSM.GetParameter": "ssm"}[target]
	if service == "" || !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=") || !strings.Contains(auth, "/"+service+"/aws4_request") {
		fail("UnrecognizedClientException")
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, target)
	value := s.value
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch target {
	case "secretsmanager.GetSecretValue":
		if in.SecretID != s.name {
			fail("ResourceNotFoundException")
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"ARN": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:" + s.name + "-AbCdEf", "Name": s.name,
			"SecretString": value, "VersionId": fmt.Sprintf("v-%x", len(s.calls)), "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
		})
	case "AmazonSSM.GetParameter":
		if in.Name != s.name || !in.WithDecryption {
			fail("ParameterNotFound")
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"Parameter": map[string]any{
			"Name": s.name, "Type": "SecureString", "Value": value, "Version": len(s.calls),
			"ARN": "arn:aws:ssm:ap-northeast-2:123456789012:parameter" + s.name,
		}})
	}
}

// TestLambdaSecretByReference runs the API's bootstrap under aws-lambda-rie with the JWT secret
// given by name only, as template.yaml deploys it: the function fetches the secret at cold start,
// fetches it again when a token's signature fails (so a rotation needs no deploy), and does so at
// most once a minute however many forged tokens arrive.
func TestLambdaSecretByReference(t *testing.T) {
	env := versitytest.Start(t, "")
	bootstrap, err := rie.BuildBootstrap(t.TempDir(), "./api/cmd/medicpx-api")
	if err != nil {
		t.Fatal(err)
	}
	var out io.Writer
	if testing.Verbose() {
		out = os.Stderr
	}
	list, err := os.ReadFile(filepath.Join("..", "..", "..", "testdata", "apigw", "list-images.json"))
	if err != nil {
		t.Fatal(err)
	}
	status := func(fn *rie.Function, secret string) int {
		t.Helper()
		tok, err := api.SignHS256([]byte(secret), "u", "student", time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		payload, err := fn.Invoke(context.Background(), bytes.ReplaceAll(list, []byte("{{TOKEN}}"), []byte(tok)))
		if err != nil {
			t.Fatal(err)
		}
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(payload, &resp); err != nil || resp.StatusCode == 0 {
			t.Fatalf("not an API Gateway v2 response: %s", payload)
		}
		return resp.StatusCode
	}
	first, second, forged := strings.Repeat("1", 40), strings.Repeat("2", 40), strings.Repeat("f", 40)
	// start runs the bootstrap with the secret stored under name in a stand-in the SDK reaches
	// through endpointVar, and the function told to fetch the secret with vars.
	start := func(t *testing.T, name, endpointVar string, vars ...string) (*secretStore, *rie.Function) {
		store := &secretStore{name: name, value: first}
		srv := httptest.NewServer(store)
		t.Cleanup(srv.Close)
		fn, err := rie.Start(bootstrap, append(append(slices.Clone(env.Vars), vars...), endpointVar+"="+srv.URL), out)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(fn.Stop)
		return store, fn
	}

	t.Run("secretsmanager", func(t *testing.T) {
		store, fn := start(t, "medicpx/jwt-secret", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "JWT_SECRET_ID=medicpx/jwt-secret")
		if got := status(fn, first); got != 200 {
			t.Fatalf("token signed with the stored secret: %d", got)
		}
		if got := store.targets(); !slices.Equal(got, []string{"secretsmanager.GetSecretValue"}) {
			t.Fatalf("cold start calls %v, want one GetSecretValue", got)
		}
		// The backend's secret is rotated in Secrets Manager; no deploy.
		store.rotate(second)
		if got := status(fn, second); got != 200 {
			t.Fatalf("token signed with the rotated secret: %d", got)
		}
		if got := status(fn, first); got != 401 {
			t.Fatalf("token signed with the replaced secret: %d, want 401", got)
		}
		for range 20 {
			if got := status(fn, forged); got != 401 {
				t.Fatalf("forged token: %d", got)
			}
		}
		if got := len(store.targets()); got != 2 {
			t.Fatalf("%d calls to the secret store, want 2 (cold start, one refetch a minute at most)", got)
		}
	})

	t.Run("ssm", func(t *testing.T) {
		store, fn := start(t, "/medicpx/jwt-secret", "AWS_ENDPOINT_URL_SSM", "JWT_SECRET_ID=/medicpx/jwt-secret", "JWT_SECRET_STORE=ssm")
		if got := status(fn, first); got != 200 {
			t.Fatalf("token signed with the parameter's value: %d", got)
		}
		store.rotate(second)
		if got := status(fn, second); got != 200 {
			t.Fatalf("token signed with the rotated parameter: %d", got)
		}
		if got := store.targets(); !slices.Equal(got, []string{"AmazonSSM.GetParameter", "AmazonSSM.GetParameter"}) {
			t.Fatalf("calls %v", got)
		}
	})

	t.Run("missing secret fails the cold start", func(t *testing.T) {
		_, fn := start(t, "another-name", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "JWT_SECRET_ID=medicpx/jwt-secret")
		tok, _ := api.SignHS256([]byte(first), "u", "student", time.Hour, time.Now())
		payload, err := fn.Invoke(context.Background(), bytes.ReplaceAll(list, []byte("{{TOKEN}}"), []byte(tok)))
		var resp events.APIGatewayV2HTTPResponse
		if err == nil && json.Unmarshal(payload, &resp) == nil && resp.StatusCode != 0 {
			t.Fatalf("the function served %d without its secret", resp.StatusCode)
		}
	})
}
