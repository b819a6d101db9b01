package infra

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7"

	"medicpx/api"
	"medicpx/shared/config"
	"medicpx/shared/keys"
	"medicpx/shared/retire"
)

// scenario is one way an operator answers `sam deploy --guided`.
type scenario struct {
	name   string
	params map[string]string
	bucket string // the bucket name that results
	// secretGrant is the API's one grant on the JWT secret ("" with a JWKS only).
	secretGrant string
}

var scenarios = []scenario{
	{
		name:        "defaults with a Secrets Manager secret",
		params:      map[string]string{"AllowedOrigins": "https://cpx.example.com", "JwtSecretName": "medicpx/jwt-secret"},
		bucket:      "medicpx-images-123456789012-ap-northeast-2",
		secretGrant: "secretsmanager:GetSecretValue arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:medicpx/jwt-secret-??????",
	},
	{
		name: "named bucket, JWKS only, no reserved concurrency, two origins",
		params: map[string]string{
			"AllowedOrigins":               "https://cpx.example.com,https://admin.cpx.example.com",
			"JwtJwksUrl":                   "https://cognito-idp.ap-northeast-2.amazonaws.com/ap-northeast-2_abc/.well-known/jwks.json",
			"JwtIssuer":                    "https://cognito-idp.ap-northeast-2.amazonaws.com/ap-northeast-2_abc",
			"BucketName":                   "cpx-images-prod",
			"ProcessorReservedConcurrency": "0",
			"QuarantineRetentionDays":      "7",
			"LogRetentionDays":             "90",
			"ReconcileSchedule":            "rate(1 hour)",
			"ApiCustomDomain":              "images-api.cpx.example.com",
			"AlarmEmail":                   "ops@cpx.example.com",
			"DownloadUrlMaxTtl":            "15m",
			"ListUrlWindow":                "10m",
			"ReconcileGrace":               "0",
		},
		bucket: "cpx-images-prod",
	},
	{
		name:        "SSM String parameter secret",
		params:      map[string]string{"AllowedOrigins": "http://localhost:5173", "JwtSecretName": "/medicpx/jwt-secret", "JwtSecretStore": "ssm"},
		bucket:      "medicpx-images-123456789012-ap-northeast-2",
		secretGrant: "ssm:GetParameter arn:aws:ssm:ap-northeast-2:123456789012:parameter/medicpx/jwt-secret",
	},
	{
		name:        "SSM parameter named without a leading slash",
		params:      map[string]string{"AllowedOrigins": "https://cpx.example.com", "JwtSecretName": "medicpx-jwt-secret", "JwtSecretStore": "ssm"},
		bucket:      "medicpx-images-123456789012-ap-northeast-2",
		secretGrant: "ssm:GetParameter arn:aws:ssm:ap-northeast-2:123456789012:parameter/medicpx-jwt-secret",
	},
	{
		name: "secret by ARN, reserved concurrency on a raised quota",
		params: map[string]string{
			"AllowedOrigins":               "https://cpx.example.com",
			"JwtSecretName":                "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:medicpx/jwt-secret-AbCdEf",
			"ProcessorReservedConcurrency": "20",
		},
		bucket:      "medicpx-images-123456789012-ap-northeast-2",
		secretGrant: "secretsmanager:GetSecretValue arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:medicpx/jwt-secret-AbCdEf",
	},
	{
		name:        "s3_url on a CDN serving the bucket",
		params:      map[string]string{"AllowedOrigins": "https://cpx.example.com", "JwtSecretName": "medicpx/jwt-secret", "PublicUrl": "https://images.cpx.example.com"},
		bucket:      "medicpx-images-123456789012-ap-northeast-2",
		secretGrant: "secretsmanager:GetSecretValue arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:medicpx/jwt-secret-??????",
	},
}

func eachScenario(t *testing.T, check func(t *testing.T, sc scenario, d *deployment)) {
	raw := rawTemplate(t)
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { check(t, sc, deploy(t, raw, sc.params)) })
	}
}

func resource(t *testing.T, d *deployment, name, typ string) map[string]any {
	t.Helper()
	r, ok := d.Resources[name]
	if !ok {
		t.Fatalf("no resource %s", name)
	}
	if r["Type"] != typ {
		t.Fatalf("%s is a %v, want %s", name, r["Type"], typ)
	}
	return r
}

func want[T comparable](t *testing.T, what string, got any, exp T) {
	t.Helper()
	if g, ok := got.(T); !ok || g != exp {
		t.Errorf("%s = %#v, want %#v", what, got, exp)
	}
}

// TestTemplateParsesAsSAM parses the template with goformation's SAM model, the typed view a
// Go program gets, and checks what that model can express after its own intrinsic processing.
func TestTemplateParsesAsSAM(t *testing.T) {
	data, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := goformation.ParseYAML(data)
	if err != nil {
		t.Fatalf("goformation: %v", err)
	}
	if tpl.Transform == nil || tpl.Transform.String == nil || *tpl.Transform.String != "AWS::Serverless-2016-10-31" {
		t.Fatalf("Transform = %v, want AWS::Serverless-2016-10-31", tpl.Transform)
	}
	proc, err := tpl.GetServerlessFunctionWithName("ProcessorFunction")
	if err != nil {
		t.Fatal(err)
	}
	if proc.MemorySize == nil || *proc.MemorySize != 1536 || proc.Timeout == nil || *proc.Timeout != 60 {
		t.Errorf("processor MemorySize/Timeout = %v/%v, want 1536/60", proc.MemorySize, proc.Timeout)
	}
	if proc.AWSCloudFormationMetadata["BuildMethod"] != "makefile" {
		t.Errorf("processor Metadata = %v, want BuildMethod makefile", proc.AWSCloudFormationMetadata)
	}
	eic := proc.EventInvokeConfig
	if eic == nil || eic.MaximumRetryAttempts == nil || *eic.MaximumRetryAttempts != 2 ||
		eic.MaximumEventAgeInSeconds == nil || *eic.MaximumEventAgeInSeconds != 3600 ||
		eic.DestinationConfig == nil || eic.DestinationConfig.OnFailure == nil || eic.DestinationConfig.OnFailure.Type == nil || *eic.DestinationConfig.OnFailure.Type != "SQS" {
		t.Errorf("processor EventInvokeConfig = %+v, want 2 retries, 3600 s, OnFailure SQS", eic)
	}
	upload := proc.Events["Upload"]
	if upload.Type != "S3" || upload.Properties == nil || upload.Properties.S3Event == nil {
		t.Fatalf("processor Upload event = %+v, want an S3 event", upload)
	}
	s3ev := upload.Properties.S3Event
	if s3ev.Filter == nil || s3ev.Filter.S3Key == nil || len(s3ev.Filter.S3Key.Rules) != 1 ||
		s3ev.Filter.S3Key.Rules[0].Name != "prefix" || s3ev.Filter.S3Key.Rules[0].Value != keys.IncomingRoot {
		t.Errorf("S3 event filter = %+v, want prefix %s", s3ev.Filter, keys.IncomingRoot)
	}
	sched := proc.Events["Reconcile"]
	if sched.Type != "Schedule" || sched.Properties == nil || sched.Properties.ScheduleEvent == nil ||
		sched.Properties.ScheduleEvent.Schedule != "rate(15 minutes)" {
		t.Errorf("processor Reconcile event = %+v, want Schedule rate(15 minutes) by default", sched)
	}
	api, err := tpl.GetServerlessFunctionWithName("ApiFunction")
	if err != nil {
		t.Fatal(err)
	}
	if ev := api.Events["Api"]; ev.Type != "HttpApi" || ev.Properties == nil || ev.Properties.HttpApiEvent == nil {
		t.Errorf("API event = %+v, want an HttpApi event", ev)
	}
	if _, err := tpl.GetServerlessHttpApiWithName("HttpApi"); err != nil {
		t.Error(err)
	}
	bucket, err := tpl.GetS3BucketWithName("ImagesBucket")
	if err != nil {
		t.Fatal(err)
	}
	if pab := bucket.PublicAccessBlockConfiguration; pab == nil || pab.BlockPublicAcls == nil || !*pab.BlockPublicAcls ||
		pab.BlockPublicPolicy == nil || !*pab.BlockPublicPolicy || pab.IgnorePublicAcls == nil || !*pab.IgnorePublicAcls ||
		pab.RestrictPublicBuckets == nil || !*pab.RestrictPublicBuckets {
		t.Errorf("bucket PublicAccessBlockConfiguration = %+v, want all four true", pab)
	}
	if _, err := tpl.GetSQSQueueWithName("FailureQueue"); err != nil {
		t.Error(err)
	}
}

// TestResourceInventory pins the set of resources, so a new one is added with its own checks.
func TestResourceInventory(t *testing.T) {
	raw := rawTemplate(t)
	got := map[string]string{}
	for name, r := range mapOf(raw["Resources"]) {
		got[name] = fmt.Sprint(mapOf(r)["Type"])
	}
	exp := map[string]string{
		"ImagesBucket":         "AWS::S3::Bucket",
		"ImagesBucketPolicy":   "AWS::S3::BucketPolicy",
		"HttpApi":              "AWS::Serverless::HttpApi",
		"ApiFunction":          "AWS::Serverless::Function",
		"ApiLogGroup":          "AWS::Logs::LogGroup",
		"ProcessorFunction":    "AWS::Serverless::Function",
		"ProcessorLogGroup":    "AWS::Logs::LogGroup",
		"FailureQueue":         "AWS::SQS::Queue",
		"AlarmTopic":           "AWS::SNS::Topic",
		"FailureQueueAlarm":    "AWS::CloudWatch::Alarm",
		"ProcessorErrorsAlarm": "AWS::CloudWatch::Alarm",
		"ApiErrorsAlarm":       "AWS::CloudWatch::Alarm",
	}
	if fmt.Sprint(got) != fmt.Sprint(exp) {
		t.Errorf("resources = %v\nwant %v", got, exp)
	}
}

func TestFunctionsAreBuiltForProvidedAL2023Arm64(t *testing.T) {
	cases := []struct {
		fn              string
		memory, timeout string
	}{
		{"ApiFunction", "256", "15"},
		{"ProcessorFunction", "1536", "60"},
	}
	eachScenario(t, func(t *testing.T, _ scenario, d *deployment) {
		for _, c := range cases {
			f := resource(t, d, c.fn, "AWS::Serverless::Function")
			p := mapOf(f["Properties"])
			want(t, c.fn+" Runtime", p["Runtime"], "provided.al2023")
			want(t, c.fn+" Handler", p["Handler"], "bootstrap")
			want(t, c.fn+" CodeUri", p["CodeUri"], ".")
			if a := strs(p["Architectures"]); !slices.Equal(a, []string{"arm64"}) {
				t.Errorf("%s Architectures = %v, want [arm64]", c.fn, a)
			}
			want(t, c.fn+" Metadata.BuildMethod", path(f, "Metadata.BuildMethod"), "makefile")
			want(t, c.fn+" MemorySize", fmt.Sprint(p["MemorySize"]), c.memory)
			want(t, c.fn+" Timeout", fmt.Sprint(p["Timeout"]), c.timeout)
		}
	})
}

func TestProcessorEvents(t *testing.T) {
	eachScenario(t, func(t *testing.T, sc scenario, d *deployment) {
		events := mapOf(path(d.Resources["ProcessorFunction"], "Properties.Events"))
		if len(events) != 2 {
			t.Errorf("processor has %d events, want the S3 upload and the reconcile schedule", len(events))
		}
		up := mapOf(events["Upload"])
		want(t, "Upload.Type", up["Type"], "S3")
		want(t, "Upload.Bucket", path(up, "Properties.Bucket"), "ref:ImagesBucket")
		if ev := strs(path(up, "Properties.Events")); !slices.Equal(ev, []string{"s3:ObjectCreated:*"}) {
			t.Errorf("Upload.Events = %v, want [s3:ObjectCreated:*]", ev)
		}
		rules, _ := path(up, "Properties.Filter.S3Key.Rules").([]any)
		if len(rules) != 1 || path(rules[0], "Name") != "prefix" || path(rules[0], "Value") != keys.IncomingRoot {
			t.Errorf("Upload filter rules = %v, want exactly prefix %s (staging only: the processor's writes trigger nothing)", rules, keys.IncomingRoot)
		}

		rec := mapOf(events["Reconcile"])
		want(t, "Reconcile.Type", rec["Type"], "Schedule")
		schedule := fmt.Sprint(path(rec, "Properties.Schedule"))
		exp := sc.params["ReconcileSchedule"]
		if exp == "" {
			exp = "rate(15 minutes)"
		}
		if schedule != exp {
			t.Errorf("Reconcile schedule = %q, want %q", schedule, exp)
		}
		if !regexp.MustCompile(`^(rate\([1-9][0-9]* (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$`).MatchString(schedule) {
			t.Errorf("Reconcile schedule %q is not an EventBridge rate() or cron() expression", schedule)
		}
		if enabled, ok := path(rec, "Properties.Enabled").(bool); ok && !enabled {
			t.Error("the reconcile schedule is disabled")
		}
	})
}

func TestProcessorNeverDropsAFailedObject(t *testing.T) {
	eachScenario(t, func(t *testing.T, sc scenario, d *deployment) {
		p := mapOf(d.Resources["ProcessorFunction"]["Properties"])
		want(t, "MaximumRetryAttempts", fmt.Sprint(path(p, "EventInvokeConfig.MaximumRetryAttempts")), "2")
		want(t, "MaximumEventAgeInSeconds", fmt.Sprint(path(p, "EventInvokeConfig.MaximumEventAgeInSeconds")), "3600")
		want(t, "OnFailure.Type", path(p, "EventInvokeConfig.DestinationConfig.OnFailure.Type"), "SQS")
		want(t, "OnFailure.Destination", path(p, "EventInvokeConfig.DestinationConfig.OnFailure.Destination"), "getatt:FailureQueue.Arn")

		q := resource(t, d, "FailureQueue", "AWS::SQS::Queue")
		// The queue must outlive the longest outage an operator is likely to notice late.
		var retention int
		if _, err := fmt.Sscan(fmt.Sprint(path(q, "Properties.MessageRetentionPeriod")), &retention); err != nil || retention < 7*24*3600 {
			t.Errorf("FailureQueue MessageRetentionPeriod = %v, want at least 7 days", path(q, "Properties.MessageRetentionPeriod"))
		}

		rc, set := p["ReservedConcurrentExecutions"]
		switch v := sc.params["ProcessorReservedConcurrency"]; v {
		case "", "0":
			if set {
				t.Errorf("ReservedConcurrentExecutions = %v, want none when the parameter is 0", rc)
			}
		default:
			want(t, "ReservedConcurrentExecutions", fmt.Sprint(rc), v)
		}
	})
}

// grant is one IAM permission: action on resource, with the condition written out.
func grants(t *testing.T, fn string, props map[string]any) []string {
	t.Helper()
	var out []string
	policies, _ := props["Policies"].([]any)
	if len(policies) == 0 {
		t.Fatalf("%s has no Policies", fn)
	}
	for _, pol := range policies {
		doc := mapOf(pol)
		stmts, ok := doc["Statement"].([]any)
		if !ok {
			// A managed policy name or a SAM policy template hides its scope; least privilege
			// must be readable in the template.
			t.Fatalf("%s policy %v is not an inline policy document", fn, pol)
		}
		for _, s := range stmts {
			st := mapOf(s)
			if st["Effect"] != "Allow" {
				t.Errorf("%s: unexpected statement effect %v", fn, st["Effect"])
				continue
			}
			if _, ok := st["NotAction"]; ok {
				t.Errorf("%s: NotAction grants everything else", fn)
			}
			if _, ok := st["NotResource"]; ok {
				t.Errorf("%s: NotResource grants everything else", fn)
			}
			cond := ""
			if c := st["Condition"]; c != nil {
				cond = fmt.Sprintf(" if %v", c)
			}
			for _, a := range strs(st["Action"]) {
				if strings.Contains(a, "*") {
					t.Errorf("%s: wildcard action %q", fn, a)
				}
				for _, r := range strs(st["Resource"]) {
					out = append(out, a+" "+r+cond)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestPoliciesAreScopedToTheBucketPrefixes(t *testing.T) {
	eachScenario(t, func(t *testing.T, sc scenario, d *deployment) {
		arn := "arn:aws:s3:::" + sc.bucket
		want(t, "bucket name", path(d.Resources["ImagesBucket"], "Properties.BucketName"), sc.bucket)
		cases := []struct {
			fn     string
			grants []string
		}{
			{"ApiFunction", []string{
				"s3:DeleteObject " + arn + "/incoming/*",
				"s3:DeleteObject " + arn + "/patient_images/*",
				"s3:DeleteObject " + arn + "/quarantine/*",
				"s3:DeleteObject " + arn + "/retired/*",
				"s3:DeleteObject " + arn + "/trash/*",
				"s3:DeleteObject " + arn + "/uploads/*",
				"s3:GetObject " + arn + "/incoming/*",
				"s3:GetObject " + arn + "/patient_images/*",
				"s3:GetObject " + arn + "/quarantine/*",
				"s3:GetObject " + arn + "/retired/*",
				"s3:GetObject " + arn + "/trash/*",
				"s3:GetObject " + arn + "/uploads/*",
				"s3:ListBucket " + arn,
				"s3:PutObject " + arn + "/incoming/*",
				"s3:PutObject " + arn + "/patient_images/*",
				"s3:PutObject " + arn + "/retired/*",
				"s3:PutObject " + arn + "/trash/*",
				"s3:PutObject " + arn + "/uploads/*",
			}},
			{"ProcessorFunction", []string{
				"s3:DeleteObject " + arn + "/incoming/*",
				"s3:DeleteObject " + arn + "/patient_images/*",
				"s3:DeleteObject " + arn + "/quarantine/*",
				"s3:DeleteObject " + arn + "/retired/*",
				"s3:DeleteObject " + arn + "/trash/*",
				"s3:DeleteObject " + arn + "/uploads/*",
				"s3:GetObject " + arn + "/incoming/*",
				"s3:GetObject " + arn + "/patient_images/*",
				"s3:GetObject " + arn + "/retired/*",
				"s3:GetObject " + arn + "/uploads/*",
				"s3:GetObjectTagging " + arn + "/incoming/*",
				"s3:ListBucket " + arn,
				"s3:PutObject " + arn + "/patient_images/*",
				"s3:PutObject " + arn + "/quarantine/*",
				"s3:PutObject " + arn + "/retired/*",
				"s3:PutObjectTagging " + arn + "/incoming/*",
			}},
		}
		for _, c := range cases {
			props := mapOf(d.Resources[c.fn]["Properties"])
			got := withoutSecretGrant(t, c.fn, sc, grants(t, c.fn, props))
			if !slices.Equal(got, c.grants) {
				t.Errorf("%s grants:\n  %s\nwant:\n  %s", c.fn, strings.Join(got, "\n  "), strings.Join(c.grants, "\n  "))
			}
			for _, g := range got {
				res := strings.Fields(g)[1]
				if res == "*" || strings.HasSuffix(res, ":::*") || strings.HasPrefix(res, arn+"/*") {
					t.Errorf("%s: %q reaches beyond the bucket's prefixes", c.fn, g)
				}
			}
			// The role SAM makes may use the bucket name the functions are told, nothing else.
			want(t, c.fn+" S3_BUCKET", path(props, "Environment.Variables.S3_BUCKET"), sc.bucket)
		}
	})
}

// withoutSecretGrant checks the function's grants on the JWT secret: the API may read exactly
// the one secret it is given (and nothing with a JWKS only), the processor none. It returns the
// other grants.
func withoutSecretGrant(t *testing.T, fn string, sc scenario, all []string) []string {
	t.Helper()
	var rest, secret []string
	for _, g := range all {
		if strings.HasPrefix(g, "secretsmanager:") || strings.HasPrefix(g, "ssm:") || strings.HasPrefix(g, "kms:") {
			secret = append(secret, g)
		} else {
			rest = append(rest, g)
		}
	}
	var exp []string
	if fn == "ApiFunction" && sc.secretGrant != "" {
		exp = []string{sc.secretGrant}
	}
	if !slices.Equal(secret, exp) {
		t.Errorf("%s grants on the JWT secret %v, want %v", fn, secret, exp)
	}
	return rest
}

func TestBucketIsPrivateEncryptedAndTLSOnly(t *testing.T) {
	eachScenario(t, func(t *testing.T, _ scenario, d *deployment) {
		b := resource(t, d, "ImagesBucket", "AWS::S3::Bucket")
		want(t, "DeletionPolicy", b["DeletionPolicy"], "RetainExceptOnCreate")
		want(t, "UpdateReplacePolicy", b["UpdateReplacePolicy"], "Retain")
		for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
			want(t, k, path(b, "Properties.PublicAccessBlockConfiguration."+k), true)
		}
		want(t, "SSEAlgorithm", path(b, "Properties.BucketEncryption.ServerSideEncryptionConfiguration.0.ServerSideEncryptionByDefault.SSEAlgorithm"), "AES256")
		want(t, "ObjectOwnership", path(b, "Properties.OwnershipControls.Rules.0.ObjectOwnership"), "BucketOwnerEnforced")

		pol := resource(t, d, "ImagesBucketPolicy", "AWS::S3::BucketPolicy")
		want(t, "BucketPolicy.Bucket", path(pol, "Properties.Bucket"), "ref:ImagesBucket")
		found := false
		for _, s := range path(pol, "Properties.PolicyDocument.Statement").([]any) {
			st := mapOf(s)
			res := strs(st["Resource"])
			slices.Sort(res)
			if st["Effect"] == "Deny" && st["Principal"] == "*" && slices.Equal(strs(st["Action"]), []string{"s3:*"}) &&
				slices.Equal(res, []string{"getatt:ImagesBucket.Arn", "getatt:ImagesBucket.Arn/*"}) &&
				fmt.Sprint(path(st, "Condition.Bool.aws:SecureTransport")) == "false" {
				found = true
			}
		}
		if !found {
			t.Error("the bucket policy does not deny every request without TLS (aws:SecureTransport false)")
		}
	})
}

func TestCORSAllowsTheFrontendOrigins(t *testing.T) {
	eachScenario(t, func(t *testing.T, sc scenario, d *deployment) {
		origins := strings.Split(sc.params["AllowedOrigins"], ",")
		rules, _ := path(d.Resources["ImagesBucket"], "Properties.CorsConfiguration.CorsRules").([]any)
		if len(rules) != 1 {
			t.Fatalf("bucket CORS rules = %v, want one", rules)
		}
		r := rules[0]
		// The bucket also allows the API's own origin, which serves the built-in pages; the
		// HTTP API's CORS does not need it (same origin).
		bucketOrigins := append(slices.Clone(origins), "https://ref:HttpApi.execute-api.ap-northeast-2.amazonaws.com")
		if dom := sc.params["ApiCustomDomain"]; dom != "" {
			bucketOrigins = append(bucketOrigins, "https://"+dom)
		}
		if got := strs(path(r, "AllowedOrigins")); !slices.Equal(got, bucketOrigins) {
			t.Errorf("bucket CORS origins = %v, want %v", got, bucketOrigins)
		}
		methods := strs(path(r, "AllowedMethods"))
		slices.Sort(methods)
		if !slices.Equal(methods, []string{"GET", "HEAD", "POST", "PUT"}) {
			t.Errorf("bucket CORS methods = %v, want GET HEAD POST PUT (deletes go through the API)", methods)
		}
		headers := strs(path(r, "AllowedHeaders"))
		for _, h := range []string{"content-type", "content-length", "x-amz-*"} {
			if !slices.Contains(headers, h) {
				t.Errorf("bucket CORS headers %v lack %q, which a presigned PUT/POST sends", headers, h)
			}
		}
		if slices.Contains(headers, "*") {
			t.Error("bucket CORS allows every header")
		}
		if got := strs(path(r, "ExposedHeaders")); !slices.Contains(got, "ETag") {
			t.Errorf("bucket CORS exposes %v, want ETag", got)
		}

		api := mapOf(path(d.Resources["HttpApi"], "Properties.CorsConfiguration"))
		if got := strs(api["AllowOrigins"]); !slices.Equal(got, origins) {
			t.Errorf("HTTP API CORS origins = %v, want %v", got, origins)
		}
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if !slices.Contains(strs(api["AllowMethods"]), m) {
				t.Errorf("HTTP API CORS methods %v lack %s", api["AllowMethods"], m)
			}
		}
		for _, h := range []string{"authorization", "content-type"} {
			if !slices.Contains(strs(api["AllowHeaders"]), h) {
				t.Errorf("HTTP API CORS headers %v lack %s", api["AllowHeaders"], h)
			}
		}
	})
}

// TestHTTPAPICORSIsTheAPIsTable: in AWS the HTTP API answers preflights, locally api.CORS does;
// both allow exactly api.CORSMethods and api.CORSHeaders (api's TestPreflightForEveryRoute checks
// that these cover every route), so a frontend that works against the local stack works against
// the deployed one, and the other way round. Order and the case of header names do not matter.
func TestHTTPAPICORSIsTheAPIsTable(t *testing.T) {
	sorted := func(in []string, fold func(string) string) []string {
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = fold(s)
		}
		slices.Sort(out)
		return out
	}
	same := func(s string) string { return s }
	eachScenario(t, func(t *testing.T, sc scenario, d *deployment) {
		cors := mapOf(path(d.Resources["HttpApi"], "Properties.CorsConfiguration"))
		if got, want := sorted(strs(cors["AllowMethods"]), same), sorted(api.CORSMethods, same); !slices.Equal(got, want) {
			t.Errorf("HTTP API CORS AllowMethods = %v, api.CORSMethods = %v", got, want)
		}
		if got, want := sorted(strs(cors["AllowHeaders"]), strings.ToLower), sorted(api.CORSHeaders, strings.ToLower); !slices.Equal(got, want) {
			t.Errorf("HTTP API CORS AllowHeaders = %v, api.CORSHeaders = %v", got, want)
		}
	})
}

func TestBucketLifecycle(t *testing.T) {
	eachScenario(t, func(t *testing.T, sc scenario, d *deployment) {
		days := sc.params["QuarantineRetentionDays"]
		if days == "" {
			days = "30"
		}
		var quarantine, trash, notes, tombstones, multipart bool
		for _, r := range path(d.Resources["ImagesBucket"], "Properties.LifecycleConfiguration.Rules").([]any) {
			if path(r, "Status") != "Enabled" {
				continue
			}
			prefix := path(r, "Prefix")
			if prefix == nil {
				prefix = path(r, "Filter.Prefix")
			}
			if prefix == "quarantine/" && fmt.Sprint(path(r, "ExpirationInDays")) == days {
				quarantine = true
			}
			// Deleted images stay restorable for 30 days, as the API's trash view tells people;
			// the sweep expires them then, and the rule is its backstop a day later.
			if prefix == "trash/" && fmt.Sprint(path(r, "ExpirationInDays")) == fmt.Sprint(retire.TrashDays+1) {
				trash = true
			}
			// Notes of unused upload URLs (at most 1 h in AWS), and tombstones once every upload
			// URL of their upload has expired (retire.Keep).
			if prefix == keys.NotesRoot && fmt.Sprint(path(r, "ExpirationInDays")) == "2" {
				notes = true
			}
			if prefix == keys.RetiredRoot && fmt.Sprint(path(r, "ExpirationInDays")) == fmt.Sprint(int(retire.Keep.Hours()/24)+1) {
				tombstones = true
			}
			// Abandoned multipart parts are invisible and billed; the rule covers the whole bucket.
			if prefix == nil && fmt.Sprint(path(r, "AbortIncompleteMultipartUpload.DaysAfterInitiation")) == "1" {
				multipart = true
			}
			if exp := path(r, "ExpirationInDays"); exp != nil && !slices.Contains([]any{"quarantine/", "trash/", keys.NotesRoot, keys.RetiredRoot}, prefix) {
				t.Errorf("lifecycle rule %v expires objects outside quarantine/, trash/, uploads/ and retired/", path(r, "Id"))
			}
		}
		if !notes || !tombstones {
			t.Errorf("lifecycle: uploads/ expired after 2 days %v, retired/ after %d days %v", notes, int(retire.Keep.Hours()/24)+1, tombstones)
		}
		if !quarantine {
			t.Errorf("no enabled rule expires quarantine/ after %s days", days)
		}
		if !trash {
			t.Error("no enabled rule expires trash/ a day after 30 days")
		}
		if !multipart {
			t.Error("no enabled bucket-wide rule aborts incomplete multipart uploads after 1 day")
		}
	})
}

// TestEnvironmentLoadsIntoConfig renders each function's environment as Lambda would see it and
// loads it with the binaries' own config loaders: names, defaults and bounds must agree.
func TestEnvironmentLoadsIntoConfig(t *testing.T) {
	known := []string{"S3_BUCKET", "S3_PUBLIC_URL", "JWT_SECRET_ID", "JWT_SECRET_STORE", "JWT_JWKS_URL", "JWT_ISSUER", "JWT_AUDIENCE",
		"UPLOAD_URL_TTL", "DOWNLOAD_URL_MAX_TTL", "LIST_URL_WINDOW", "RECONCILE_GRACE", "QUARANTINE_DAYS", "S3_URL_MODE", "PUBLIC_API_URL",
		"GOMEMLIMIT"} // the Go runtime's, checked by TestProcessorMemoryLimit
	eachScenario(t, func(t *testing.T, sc scenario, d *deployment) {
		env := map[string]map[string]string{}
		for _, fn := range []string{"ApiFunction", "ProcessorFunction"} {
			env[fn] = map[string]string{}
			for k, v := range mapOf(path(d.Resources[fn], "Properties.Environment.Variables")) {
				if !slices.Contains(known, k) {
					// CORS_ORIGINS (the HTTP API does CORS), AWS_REGION (Lambda's own) and anything
					// the binaries do not read. The dev sign-in is a build tag, which TestMakeLambda
					// proves the Lambda builds lack (-tags=lambda.norpc,nodynamic exactly).
					t.Errorf("%s sets %s, which is not a setting for AWS", fn, k)
				}
				s, ok := v.(string)
				if !ok {
					t.Errorf("%s %s = %#v, want a string", fn, k, v)
				}
				env[fn][k] = s
			}
		}

		// The secret is passed by reference only; the API fetches it (api/jwtsecret).
		if _, ok := env["ApiFunction"]["JWT_SECRET"]; ok {
			t.Error("JWT_SECRET is in the function's environment, readable with its configuration")
		}
		id, hasID := env["ApiFunction"]["JWT_SECRET_ID"]
		if hasID != (sc.params["JwtSecretName"] != "") || id != sc.params["JwtSecretName"] {
			t.Errorf("JWT_SECRET_ID = %q (set %v), want %q", id, hasID, sc.params["JwtSecretName"])
		}
		if _, ok := env["ProcessorFunction"]["JWT_SECRET_ID"]; ok {
			t.Error("the processor is given the JWT secret's name it never uses")
		}

		lambdaEnv := func(fn string) config.Getenv {
			return func(k string) string {
				if k == "AWS_REGION" {
					return pseudo["AWS::Region"]
				}
				return env[fn][k]
			}
		}
		api, err := config.LoadAPI(lambdaEnv("ApiFunction"))
		if err != nil {
			t.Fatalf("config.LoadAPI with the template's environment: %v", err)
		}
		if len(api.CORSOrigins) != 0 {
			t.Error("CORS_ORIGINS is set in AWS, where the HTTP API answers CORS itself")
		}
		want(t, "API bucket", api.S3.Bucket, sc.bucket)
		want(t, "API JWKS URL", api.JWT.JWKSURL, sc.params["JwtJwksUrl"])
		// s3_url: a link to the API, unless the operator gives a CDN base for the bucket.
		if sc.params["PublicUrl"] == "" {
			want(t, "s3_url setting", api.S3URLMode, config.S3URLAPI)
			if d := sc.params["ApiCustomDomain"]; d != "" {
				want(t, "s3_url base", api.PublicAPIURL, "https://"+d)
			} else {
				want(t, "s3_url base", api.PublicAPIURL, "") // derived from each request
			}
		} else {
			want(t, "s3_url setting", api.S3URLMode, config.S3URLCDN)
			want(t, "s3_url CDN base", api.S3.PublicURL, strings.TrimRight(sc.params["PublicUrl"], "/"))
		}
		if sc.params["JwtSecretName"] != "" {
			store := sc.params["JwtSecretStore"]
			if store == "" {
				store = "secretsmanager"
			}
			want(t, "API secret store", api.JWT.SecretStore, store)
		}
		proc, err := config.LoadProcessor(lambdaEnv("ProcessorFunction"))
		if err != nil {
			t.Fatalf("config.LoadProcessor with the template's environment: %v", err)
		}
		want(t, "processor bucket", proc.S3.Bucket, sc.bucket)
		if proc.S3.Endpoint != "" || api.S3.Endpoint != "" {
			t.Error("an S3 endpoint override is set in AWS")
		}
	})
}

func TestJwtVerifierIsRequired(t *testing.T) {
	raw := rawTemplate(t)
	cases := []struct {
		params map[string]string
		ok     bool
	}{
		{map[string]string{"AllowedOrigins": "https://a.example"}, false},
		{map[string]string{"AllowedOrigins": "https://a.example", "JwtSecretName": "medicpx/jwt"}, true},
		{map[string]string{"AllowedOrigins": "https://a.example", "JwtJwksUrl": "https://idp.example/jwks.json"}, true},
		// RequireJwtIssuerAudience is the one switch that makes iss and aud mandatory.
		{map[string]string{"AllowedOrigins": "https://a.example", "JwtSecretName": "medicpx/jwt", "RequireJwtIssuerAudience": "true"}, false},
		{map[string]string{"AllowedOrigins": "https://a.example", "JwtSecretName": "medicpx/jwt", "RequireJwtIssuerAudience": "true", "JwtIssuer": "https://cpx.example"}, false},
		{map[string]string{"AllowedOrigins": "https://a.example", "JwtSecretName": "medicpx/jwt", "RequireJwtIssuerAudience": "true", "JwtAudience": "medicpx"}, false},
		{map[string]string{"AllowedOrigins": "https://a.example", "JwtSecretName": "medicpx/jwt", "RequireJwtIssuerAudience": "true", "JwtIssuer": "https://cpx.example", "JwtAudience": "medicpx"}, true},
		{map[string]string{"AllowedOrigins": "https://a.example", "JwtSecretName": "medicpx/jwt", "RequireJwtIssuerAudience": "false"}, true},
	}
	for _, c := range cases {
		d := deploy(t, raw, c.params)
		if ok := len(d.FailedRules) == 0; ok != c.ok {
			t.Errorf("params %v: stack accepted = %v (failed rules %v), want %v", c.params, ok, d.FailedRules, c.ok)
		}
	}
}

func TestLogGroupsHaveRetention(t *testing.T) {
	eachScenario(t, func(t *testing.T, sc scenario, d *deployment) {
		days := sc.params["LogRetentionDays"]
		if days == "" {
			days = "30"
		}
		for fn, lg := range map[string]string{"ApiFunction": "ApiLogGroup", "ProcessorFunction": "ProcessorLogGroup"} {
			g := resource(t, d, lg, "AWS::Logs::LogGroup")
			// Lambda writes to /aws/lambda/<function name>; a group of that name made here takes
			// the retention instead of the never-expiring one Lambda would create.
			want(t, lg+" name", path(g, "Properties.LogGroupName"), "/aws/lambda/ref:"+fn)
			want(t, lg+" retention", fmt.Sprint(path(g, "Properties.RetentionInDays")), days)
		}
	})
}

func TestAPIRoutesEverythingToTheRouter(t *testing.T) {
	eachScenario(t, func(t *testing.T, _ scenario, d *deployment) {
		events := mapOf(path(d.Resources["ApiFunction"], "Properties.Events"))
		if len(events) != 2 || events["Api"] == nil || events["ImageLink"] == nil {
			t.Fatalf("API events = %v, want the $default route (Api) and the s3_url route (ImageLink)", events)
		}
		for name, ev := range events {
			want(t, name+".Type", path(ev, "Type"), "HttpApi")
			want(t, name+".ApiId", path(ev, "Properties.ApiId"), "ref:HttpApi")
			want(t, name+".PayloadFormatVersion", path(ev, "Properties.PayloadFormatVersion"), "2.0")
		}
		// No Path/Method: the $default route, so gorilla/mux sees every request (the fixtures'
		// routeKey) and answers 404/405 itself.
		if p, m := path(events["Api"], "Properties.Path"), path(events["Api"], "Properties.Method"); p != nil || m != nil {
			t.Errorf("Api routes only %v %v, want the $default route", m, p)
		}
		// The token-free s3_url links have a route of their own, to the same function, only so
		// that API Gateway throttles them more tightly than the rest.
		want(t, "ImageLink.Path", path(events["ImageLink"], "Properties.Path"), "/patient_images/{proxy+}")
		want(t, "ImageLink.Method", path(events["ImageLink"], "Properties.Method"), "GET")
		rs := path(events["ImageLink"], "Properties.RouteSettings")
		burst, _ := path(rs, "ThrottlingBurstLimit").(int)
		rate, _ := path(rs, "ThrottlingRateLimit").(int)
		defBurst, _ := path(d.Resources["HttpApi"], "Properties.DefaultRouteSettings.ThrottlingBurstLimit").(int)
		if burst <= 0 || rate <= 0 || burst > defBurst {
			t.Errorf("s3_url route throttling %v, want a burst and rate no looser than the default (%d)", rs, defBurst)
		}
	})
}

func TestOutputs(t *testing.T) {
	eachScenario(t, func(t *testing.T, _ scenario, d *deployment) {
		cases := map[string]string{
			"ApiUrl":          "https://ref:HttpApi.execute-api.ap-northeast-2.amazonaws.com",
			"BucketName":      "ref:ImagesBucket",
			"FailureQueueUrl": "ref:FailureQueue",
		}
		for name, exp := range cases {
			want(t, "Outputs."+name, path(d.Outputs, name+".Value"), exp)
		}
	})
}

// secretLike finds values that look like credentials written into the template.
var secretLike = []*regexp.Regexp{
	regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`),                                                             // AWS access key id
	regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`),                                                      // PEM key
	regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.`),                                             // a JWT
	regexp.MustCompile(`(?i)(secret|password|passwd|token|api[_-]?key)["']?\s*[:=]\s*["']?[A-Za-z0-9+/_=-]{12,}`), // name: value
	regexp.MustCompile(`^[A-Za-z0-9+/=_-]{32,}$`),                                                                 // a long opaque token as a whole value
}

// dynamicRef is how a secret may appear: by name, resolved by CloudFormation at deploy time.
var dynamicRef = regexp.MustCompile(`\{\{resolve:(secretsmanager|ssm):[^}]*\}\}`)

// camelCase is an identifier such as a CloudWatch metric name (ApproximateNumberOfMessagesVisible):
// long and opaque-looking, but words.
var camelCase = regexp.MustCompile(`^([A-Z][a-z]+)+$`)

func looksSecret(s string) bool {
	s = dynamicRef.ReplaceAllString(s, "")
	if camelCase.MatchString(s) {
		return false
	}
	for _, re := range secretLike {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

func TestSecretDetectorFires(t *testing.T) {
	cases := []struct {
		s      string
		secret bool
	}{
		{"AKIAIOSFODNN7EXAMPLE", true},
		{"JWT_SECRET: 0123456789abcdef0123456789abcdef", true},
		{"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==", true},
		{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc", true},
		{"{{resolve:secretsmanager:medicpx/jwt-secret:SecretString}}", false},
		{"arn:${AWS::Partition}:s3:::${Bucket}/patient_images/*", false},
		{"medicpx-images-${AWS::AccountId}-${AWS::Region}", false},
		{"JwtSecretName", false},
		{"ApproximateNumberOfMessagesVisible", false},
		{"ApproximateNumberOfMessagesVisibleX0", true},
	}
	for _, c := range cases {
		if got := looksSecret(c.s); got != c.secret {
			t.Errorf("looksSecret(%q) = %v, want %v", c.s, got, c.secret)
		}
	}
}

func TestNoSecretInTheTemplate(t *testing.T) {
	data, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(data), "\n") {
		if looksSecret(line) {
			t.Errorf("template.yaml:%d looks like a secret: %s", i+1, line)
		}
	}
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(where+"."+k, c)
			}
		case []any:
			for i, c := range x {
				walk(fmt.Sprintf("%s.%d", where, i), c)
			}
		case string:
			if looksSecret(x) {
				t.Errorf("%s = %q looks like a secret", where, x)
			}
		}
	}
	raw := rawTemplate(t)
	walk("template", raw)
	// Whatever the parameters, no secret value reaches a function's configuration: not even as a
	// dynamic reference, which CloudFormation would resolve into the environment in plain text.
	for _, sc := range scenarios {
		d := deploy(t, raw, sc.params)
		for _, fn := range []string{"ApiFunction", "ProcessorFunction"} {
			for k, v := range mapOf(path(d.Resources[fn], "Properties.Environment.Variables")) {
				if k == "JWT_SECRET" || dynamicRef.MatchString(fmt.Sprint(v)) {
					t.Errorf("%s: %s %s = %v puts a secret into the function's configuration", sc.name, fn, k, v)
				}
			}
		}
	}
	for name, p := range mapOf(raw["Parameters"]) {
		if strings.Contains(strings.ToLower(name), "secret") && fmt.Sprint(mapOf(p)["Default"]) != "" &&
			!slices.ContainsFunc(strs(mapOf(p)["AllowedValues"]), func(a string) bool { return a == fmt.Sprint(mapOf(p)["Default"]) }) {
			t.Errorf("parameter %s has a default value %v", name, mapOf(p)["Default"])
		}
	}
}
