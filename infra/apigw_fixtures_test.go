package infra

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"medicpx/api/apigw"
)

const apigwDir = "../testdata/apigw"

// The placeholders a caller replaces before `sam local invoke -e` or an aws-lambda-rie test.
var placeholders = strings.NewReplacer(
	"{{TOKEN}}", "header.payload.signature",
	"{{KEY}}", "patient_images/scenario_1/0b6f3f7e-5a0c-4e53-9d2a-3b1f0c6a9e10.jpg",
	"{{FILENAME}}", "0b6f3f7e-5a0c-4e53-9d2a-3b1f0c6a9e10.jpg",
)

// TestAPIGatewayFixtures checks each fixture is an HTTP API payload v2 request as API Gateway
// sends it for the $default route (with the path decoded, as an HTTP API does), and that the API's
// Lambda adapter (apigw.Escape, then aws-lambda-go-api-proxy) turns it into the HTTP request the
// router expects: the path escaped as the client sent it.
func TestAPIGatewayFixtures(t *testing.T) {
	const key = "patient_images/scenario_1/0b6f3f7e-5a0c-4e53-9d2a-3b1f0c6a9e10.jpg"
	cases := []struct {
		file, method, path, s3Key, body string
		auth                            bool
		routeKey                        string // "$default" unless set
		escaped                         string // the path the router sees, when it differs from path
	}{
		{file: "healthz.json", method: "GET", path: "/healthz", auth: true},
		{file: "openapi.json", method: "GET", path: "/openapi.yaml", auth: true},
		{file: "list-images.json", method: "GET", path: "/patient-images/scenarios/1/images", auth: true},
		{file: "list-images-no-auth.json", method: "GET", path: "/patient-images/scenarios/1/images"},
		{file: "get-representative.json", method: "GET", path: "/patient-images/scenarios/1/image", auth: true},
		{file: "pin-representative.json", method: "PUT", path: "/patient-images/scenarios/1/image", auth: true,
			body: `{"s3_key":"` + key + `"}`},
		{file: "get-image.json", method: "GET", path: "/patient-images/scenarios/1/images/0b6f3f7e-5a0c-4e53-9d2a-3b1f0c6a9e10.jpg", auth: true},
		{file: "upload-url.json", method: "POST", path: "/patient-images/upload-url/1", auth: true,
			body: `{"filename":"patient_photo.jpg","content_type":"image/jpeg","content_length":1024,"method":"PUT"}`},
		{file: "download-url.json", method: "POST", path: "/patient-images/download-url/1", auth: true,
			body: `{"s3_key":"` + key + `","expires_in":3600}`},
		{file: "delete-image.json", method: "DELETE", path: "/patient-images/1", s3Key: key, auth: true},
		{file: "set-caption.json", method: "PATCH", path: "/patient-images/scenarios/1/images/0b6f3f7e-5a0c-4e53-9d2a-3b1f0c6a9e10.jpg", auth: true,
			body: `{"caption":"오른쪽 뺨의 발진, 3일 전부터"}`},
		{file: "set-order.json", method: "PUT", path: "/patient-images/scenarios/1/order", auth: true, body: `{"s3_keys":["` + key + `"]}`},
		{file: "list-trash.json", method: "GET", path: "/patient-images/scenarios/1/trash", auth: true},
		{file: "restore-from-trash.json", method: "POST", path: "/patient-images/scenarios/1/trash/restore", auth: true, body: `{"s3_key":"` + key + `"}`},
		{file: "list-rejections.json", method: "GET", path: "/patient-images/scenarios/1/rejections", auth: true},
		// An s3_url as an <img> on another site asks for it: no token, on its own throttled route.
		{file: "image-link.json", method: "GET", path: "/" + key, routeKey: "GET /patient_images/{proxy+}"},
		// Crafted paths, as API Gateway hands them over after decoding what the client sent.
		{file: "path-percent.json", method: "GET", path: "/patient-images/scenarios/1%/images", auth: true,
			escaped: "/patient-images/scenarios/1%25/images"},
		{file: "path-question-mark.json", method: "GET", path: "/patient-images/scenarios/1?x/images", auth: true,
			escaped: "/patient-images/scenarios/1%3Fx/images"},
		{file: "path-encoded-slash.json", method: "GET", path: "/patient-images/scenarios/1/images/../../../healthz", auth: true},
		{file: "path-korean.json", method: "GET", path: "/patient-images/scenarios/1/images/환자사진.jpg", auth: true,
			escaped: "/patient-images/scenarios/1/images/%ED%99%98%EC%9E%90%EC%82%AC%EC%A7%84.jpg"},
	}

	entries, err := os.ReadDir(apigwDir)
	if err != nil {
		t.Fatal(err)
	}
	var files, covered []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".json") {
			files = append(files, e.Name())
		}
	}
	for _, c := range cases {
		covered = append(covered, c.file)
	}
	slices.Sort(covered)
	if !slices.Equal(files, covered) {
		t.Errorf("fixtures %v, checked %v: every fixture needs a case", files, covered)
	}

	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(apigwDir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			data = []byte(placeholders.Replace(string(data)))
			if bytes.Contains(data, []byte("{{")) {
				t.Fatalf("an unknown placeholder is left: %s", data)
			}
			var ev events.APIGatewayV2HTTPRequest
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields() // the fields Lambda's Go types know, nothing invented
			if err := dec.Decode(&ev); err != nil {
				t.Fatalf("not an API Gateway v2 request: %v", err)
			}
			want(t, "version", ev.Version, "2.0")
			routeKey := c.routeKey
			if routeKey == "" {
				routeKey = "$default"
			}
			want(t, "routeKey", ev.RouteKey, routeKey)
			want(t, "requestContext.routeKey", ev.RequestContext.RouteKey, routeKey)
			want(t, "requestContext.stage", ev.RequestContext.Stage, "$default")
			want(t, "rawPath", ev.RawPath, c.path)
			want(t, "requestContext.http.path", ev.RequestContext.HTTP.Path, c.path)
			want(t, "requestContext.http.method", ev.RequestContext.HTTP.Method, c.method)
			want(t, "isBase64Encoded", ev.IsBase64Encoded, false)
			for h := range ev.Headers {
				if h != strings.ToLower(h) {
					t.Errorf("header %q: HTTP API lower-cases header names", h)
				}
			}
			if _, ok := ev.Headers["authorization"]; ok != c.auth {
				t.Errorf("authorization header present = %v, want %v", ok, c.auth)
			}

			req, err := new(core.RequestAccessorV2).EventToRequest(apigw.Escape(ev))
			if err != nil {
				t.Fatalf("aws-lambda-go-api-proxy: %v", err)
			}
			escaped := c.escaped
			if escaped == "" {
				escaped = c.path
			}
			want(t, "request method", req.Method, c.method)
			want(t, "request path", req.URL.Path, c.path)
			want(t, "request escaped path", req.URL.EscapedPath(), escaped)
			want(t, "request query", req.URL.RawQuery, ev.RawQueryString)
			want(t, "request s3_key", req.URL.Query().Get("s3_key"), c.s3Key)
			auth := ""
			if c.auth {
				auth = "Bearer header.payload.signature"
			}
			want(t, "request Authorization", req.Header.Get("Authorization"), auth)
			body, err := io.ReadAll(req.Body)
			if err != nil {
				t.Fatal(err)
			}
			want(t, "request body", string(body), c.body)
			if c.body != "" {
				want(t, "request Content-Type", req.Header.Get("Content-Type"), "application/json")
				if !json.Valid(body) {
					t.Errorf("body is not JSON: %s", body)
				}
			}
		})
	}
}
