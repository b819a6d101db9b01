package config

import (
	"strings"
	"testing"
	"time"
)

func env(kv map[string]string) Getenv { return func(k string) string { return kv[k] } }

func TestLoadAPIDefaults(t *testing.T) {
	c, err := LoadAPI(env(map[string]string{"JWT_SECRET": strings.Repeat("s", 32)}))
	if err != nil {
		t.Fatal(err)
	}
	if c.S3.Bucket != "medicpx" || c.S3.Region != "ap-northeast-2" || c.S3.PathStyle || c.Addr != "127.0.0.1:8080" ||
		c.UploadTTL != time.Hour || c.DownloadMaxTTL != 7*24*time.Hour || c.ListURLWindow != time.Hour || c.CORSOrigins != nil {
		t.Fatalf("defaults: %+v", c)
	}
	if c.S3.PublicURL != "https://medicpx.s3.ap-northeast-2.amazonaws.com" {
		t.Fatalf("public URL %q", c.S3.PublicURL)
	}
}

func TestLoadAPICORSOrigins(t *testing.T) {
	c, err := LoadAPI(env(map[string]string{"JWT_SECRET": strings.Repeat("s", 32), "CORS_ORIGINS": " http://localhost:3000/, https://cpx.example.com "}))
	if err != nil || len(c.CORSOrigins) != 2 || c.CORSOrigins[0] != "http://localhost:3000" || c.CORSOrigins[1] != "https://cpx.example.com" {
		t.Fatalf("%q %v", c.CORSOrigins, err)
	}
}

func TestLoadAPIEndpoint(t *testing.T) {
	c, err := LoadAPI(env(map[string]string{"JWT_JWKS_URL": "https://example.com/jwks.json", "S3_ENDPOINT": "http://127.0.0.1:7070/", "S3_BUCKET": "b-1"}))
	if err != nil {
		t.Fatal(err)
	}
	if !c.S3.PathStyle || c.S3.Endpoint != "http://127.0.0.1:7070" || c.S3.PublicURL != "http://127.0.0.1:7070/b-1" {
		t.Fatalf("%+v", c.S3)
	}
}

// TestLoadAPIReportsEverything: one start-up shows every mistake at once.
func TestLoadAPIReportsEverything(t *testing.T) {
	_, err := LoadAPI(env(map[string]string{
		"JWT_SECRET": "short", "S3_ENDPOINT": "ftp://x", "S3_BUCKET": "Bad_Bucket", "S3_PATH_STYLE": "maybe",
		"UPLOAD_URL_TTL": "forever", "DOWNLOAD_URL_MAX_TTL": "800h", "LIST_URL_WINDOW": "1s", "CORS_ORIGINS": "http://ok:3000, localhost:3000/app",
	}))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"JWT_SECRET must be at least 32", "S3_ENDPOINT", "S3_BUCKET", "S3_PATH_STYLE",
		"UPLOAD_URL_TTL", "DOWNLOAD_URL_MAX_TTL", "LIST_URL_WINDOW", "CORS_ORIGINS"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s:\n%v", want, err)
		}
	}
	if _, err := LoadAPI(env(nil)); err == nil || !strings.Contains(err.Error(), "JWT_SECRET, JWT_SECRET_ID or JWT_JWKS_URL") {
		t.Errorf("no auth configured: %v", err)
	}
}

func TestLoadProcessor(t *testing.T) {
	c, err := LoadProcessor(env(nil))
	if err != nil || c.Workers != DefaultWorkers || c.Queue != 1024 || c.ReconcileGrace != 5*time.Minute || c.Addr != "127.0.0.1:8090" {
		t.Fatalf("%+v %v", c, err)
	}
	_, err = LoadProcessor(env(map[string]string{"PROCESSOR_WORKERS": "0", "PROCESSOR_QUEUE": "x", "RECONCILE_GRACE": "-1s"}))
	for _, want := range []string{"PROCESSOR_WORKERS", "PROCESSOR_QUEUE", "RECONCILE_GRACE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
}

func TestDurationBounds(t *testing.T) {
	cases := []struct {
		name, value string
		ok          bool
	}{
		{"RECONCILE_GRACE", "0", true},
		{"RECONCILE_GRACE", "24h", true},
		{"RECONCILE_GRACE", "25h", false},
		{"UPLOAD_URL_TTL", "59s", false},
		{"UPLOAD_URL_TTL", "168h", true},
		{"LIST_URL_WINDOW", "73h", false},
	}
	for _, c := range cases {
		e := env(map[string]string{"JWT_SECRET": strings.Repeat("s", 32), c.name: c.value})
		var err error
		if c.name == "RECONCILE_GRACE" {
			_, err = LoadProcessor(e)
		} else {
			_, err = LoadAPI(e)
		}
		if (err == nil) != c.ok {
			t.Errorf("%s=%s: err %v, want ok %v", c.name, c.value, err, c.ok)
		}
	}
}

func TestLoadAPISecretByReference(t *testing.T) {
	c, err := LoadAPI(env(map[string]string{"JWT_SECRET_ID": "medicpx/jwt-secret"}))
	if err != nil || c.JWT.SecretID != "medicpx/jwt-secret" || c.JWT.SecretStore != "secretsmanager" || c.JWT.Secret != "" {
		t.Fatalf("%+v %v", c.JWT, err)
	}
	c, err = LoadAPI(env(map[string]string{"JWT_SECRET_ID": "/medicpx/jwt-secret", "JWT_SECRET_STORE": "ssm"}))
	if err != nil || c.JWT.SecretStore != "ssm" {
		t.Fatalf("%+v %v", c.JWT, err)
	}
	_, err = LoadAPI(env(map[string]string{"JWT_SECRET_ID": "x", "JWT_SECRET": strings.Repeat("s", 32), "JWT_SECRET_STORE": "vault"}))
	for _, want := range []string{"both set", "JWT_SECRET_STORE"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

// TestS3URLSettings: s3_url is an API link by default; the identifier and CDN settings and the
// link's limits are checked at start-up.
func TestS3URLSettings(t *testing.T) {
	secret := strings.Repeat("s", 32)
	c, err := LoadAPI(env(map[string]string{"JWT_SECRET": secret}))
	if err != nil || c.S3URLMode != S3URLAPI || c.PublicAPIURL != "" || c.LinkRate != DefaultLinkRate || c.LinkBurst != DefaultLinkBurst {
		t.Fatalf("defaults %+v %v", c, err)
	}
	c, err = LoadAPI(env(map[string]string{"JWT_SECRET": secret, "S3_URL_MODE": "cdn", "S3_PUBLIC_URL": "https://cdn.example.com/",
		"PUBLIC_API_URL": "https://api.example.com/"}))
	if err != nil || c.S3URLMode != S3URLCDN || c.S3.PublicURL != "https://cdn.example.com" || c.PublicAPIURL != "https://api.example.com" {
		t.Fatalf("cdn %+v %v", c, err)
	}
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"S3_URL_MODE": "public"}, "S3_URL_MODE"},
		{map[string]string{"S3_URL_MODE": "cdn"}, "S3_URL_MODE=cdn needs S3_PUBLIC_URL"},
		{map[string]string{"PUBLIC_API_URL": "api.example.com"}, "PUBLIC_API_URL"},
		{map[string]string{"PUBLIC_API_URL": "https://api.example.com/?x=1"}, "PUBLIC_API_URL"},
		{map[string]string{"S3_URL_RATE": "0"}, "S3_URL_RATE"},
		{map[string]string{"S3_URL_BURST": "-1"}, "S3_URL_BURST"},
	} {
		tc.vars["JWT_SECRET"] = secret
		if _, err := LoadAPI(env(tc.vars)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error naming %s", tc.vars, err, tc.want)
		}
	}
}
