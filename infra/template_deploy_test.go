package infra

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"medicpx/shared/config"
)

// These tests hold the template to what a first `sam deploy` on a fresh account needs (issue 13).

// TestProcessorReservesNothingByDefault: Lambda refuses a reservation that leaves the account's
// unreserved concurrency below its minimum (100 on a standard account; the whole quota on a new
// account whose quota is 10), so the default must reserve nothing, or a first deploy rolls back.
func TestProcessorReservesNothingByDefault(t *testing.T) {
	raw := rawTemplate(t)
	p := mapOf(mapOf(raw["Parameters"])["ProcessorReservedConcurrency"])
	want(t, "ProcessorReservedConcurrency default", fmt.Sprint(p["Default"]), "0")
	desc := fmt.Sprint(p["Description"])
	for _, s := range []string{"minus", "100", "UnreservedConcurrentExecution", "get-account-settings"} {
		if !strings.Contains(desc, s) && !(s == "minus" && strings.Contains(desc, "below its minimum")) {
			t.Errorf("ProcessorReservedConcurrency's description does not state the rule (%q missing): %s", s, desc)
		}
	}
	d := deploy(t, raw, map[string]string{"AllowedOrigins": "https://a.example", "JwtSecretName": "medicpx/jwt"})
	if rc, ok := mapOf(d.Resources["ProcessorFunction"]["Properties"])["ReservedConcurrentExecutions"]; ok {
		t.Errorf("the default deploy reserves %v concurrent executions; a new account's quota cannot give any", rc)
	}
}

// TestBucketSurvivesAFailedFirstDeploy: a create that rolls back must delete the (empty) bucket
// it made, or every retry fails with "already exists"; any other stack operation keeps it.
func TestBucketSurvivesAFailedFirstDeploy(t *testing.T) {
	raw := rawTemplate(t)
	b := mapOf(mapOf(raw["Resources"])["ImagesBucket"])
	want(t, "ImagesBucket DeletionPolicy", b["DeletionPolicy"], "RetainExceptOnCreate")
	// UpdateReplacePolicy knows only Delete, Retain and Snapshot; images must survive a replacement.
	want(t, "ImagesBucket UpdateReplacePolicy", b["UpdateReplacePolicy"], "Retain")
	desc := fmt.Sprint(mapOf(mapOf(raw["Parameters"])["BucketName"])["Description"])
	if !strings.Contains(desc, "Fixed after the first deploy") {
		t.Errorf("BucketName's description does not say it is fixed after the first deploy: %s", desc)
	}
	// Everything else the stack makes is deleted with it, so a retry starts clean.
	for name, r := range mapOf(raw["Resources"]) {
		if pol, ok := mapOf(r)["DeletionPolicy"]; ok && name != "ImagesBucket" && pol != "Delete" {
			t.Errorf("%s has DeletionPolicy %v: a failed or deleted stack would leave it behind", name, pol)
		}
	}
}

// TestBucketCORSAllowsThePagesOrigin: the built-in pages are served by the API, from its
// execute-api origin (the ApiUrl output) or a custom domain, and PUT uploads straight to S3; the
// browser's preflight for that PUT must find the pages' origin in the bucket's CORS rule.
func TestBucketCORSAllowsThePagesOrigin(t *testing.T) {
	raw := rawTemplate(t)
	cases := []struct {
		params map[string]string
		extra  []string
	}{
		{map[string]string{"AllowedOrigins": "https://cpx.example.com", "JwtSecretName": "s"}, nil},
		{map[string]string{"AllowedOrigins": "https://cpx.example.com,http://localhost:5173", "JwtSecretName": "s",
			"ApiCustomDomain": "images-api.cpx.example.com"}, []string{"https://images-api.cpx.example.com"}},
	}
	for _, c := range cases {
		d := deploy(t, raw, c.params)
		api := fmt.Sprint(path(d.Outputs, "ApiUrl.Value"))
		exp := append(strings.Split(c.params["AllowedOrigins"], ","), api)
		exp = append(exp, c.extra...)
		got := strs(path(d.Resources["ImagesBucket"], "Properties.CorsConfiguration.CorsRules.0.AllowedOrigins"))
		if !slices.Equal(got, exp) {
			t.Errorf("params %v: bucket CORS origins %v, want %v (the frontends, the ApiUrl output, the custom domain)", c.params, got, exp)
		}
	}
	for _, bad := range []string{"https://images-api.example.com", "images-api.example.com/", "Images.example.com", "localhost"} {
		if regexp.MustCompile(fmt.Sprint(mapOf(mapOf(raw["Parameters"])["ApiCustomDomain"])["AllowedPattern"])).MatchString(bad) {
			t.Errorf("ApiCustomDomain accepts %q, which is not a host name", bad)
		}
	}
}

// durationParams maps each duration parameter to the setting it feeds and the longest value the
// template may promise: URL lifetimes end with the role session that signed them, so they stay
// at or under an hour (a listed URL lasts two windows).
var durationParams = []struct {
	param, env string
	max        time.Duration
}{
	{"UploadUrlTtl", "UPLOAD_URL_TTL", time.Hour},
	{"DownloadUrlMaxTtl", "DOWNLOAD_URL_MAX_TTL", time.Hour},
	{"ListUrlWindow", "LIST_URL_WINDOW", 30 * time.Minute},
	{"ReconcileGrace", "RECONCILE_GRACE", 24 * time.Hour},
}

// TestDurationParametersMatchTheCodesBounds: every value a duration parameter's AllowedPattern
// admits parses and lies within the code's bounds (config.DurationBounds) and the template's
// promise; every whole number of minutes within those is admitted; typos are refused at deploy.
func TestDurationParametersMatchTheCodesBounds(t *testing.T) {
	params := mapOf(rawTemplate(t)["Parameters"])
	var names []string
	for name := range params {
		if strings.HasSuffix(name, "Ttl") || strings.HasSuffix(name, "Window") || strings.HasSuffix(name, "Grace") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var covered []string
	for _, p := range durationParams {
		covered = append(covered, p.param)
	}
	slices.Sort(covered)
	if !slices.Equal(names, covered) {
		t.Fatalf("duration parameters %v, checked %v", names, covered)
	}
	typos := []string{"", "1", "60", "1 h", "1hr", "1H", "1.5h", "-5m", "1h30m", "01h", "0h", "5 m", "1d", "1h ", " 1h", "1e3m"}
	for _, p := range durationParams {
		t.Run(p.param, func(t *testing.T) {
			decl := mapOf(params[p.param])
			pat, ok := decl["AllowedPattern"].(string)
			if !ok {
				t.Fatalf("%s has no AllowedPattern", p.param)
			}
			re := regexp.MustCompile(pat)
			bounds, ok := config.DurationBounds[p.env]
			if !ok {
				t.Fatalf("config.DurationBounds has no %s", p.env)
			}
			hi := min(bounds[1], p.max)
			if def := fmt.Sprint(decl["Default"]); !re.MatchString(def) {
				t.Errorf("the default %q does not match %s", def, pat)
			}
			var candidates []string
			for n := 0; n <= 3000; n++ {
				for _, unit := range []string{"s", "m", "h"} {
					candidates = append(candidates, fmt.Sprintf("%d%s", n, unit))
				}
			}
			candidates = append(candidates, typos...)
			admitted := 0
			for _, c := range candidates {
				if !re.MatchString(c) {
					continue
				}
				admitted++
				d, err := time.ParseDuration(c)
				if err != nil || d < bounds[0] || d > hi {
					t.Errorf("%s admits %q, which the code refuses or the template must not promise (bounds %s..%s): %v", p.param, c, bounds[0], hi, err)
				}
				// The loader itself, not just the numbers: a value the pattern admits starts the function.
				env := map[string]string{"JWT_SECRET": strings.Repeat("s", 32), p.env: c}
				if p.env == "RECONCILE_GRACE" {
					if _, err := config.LoadProcessor(func(k string) string { return env[k] }); err != nil {
						t.Errorf("%s admits %q, which the processor refuses: %v", p.param, c, err)
					}
				} else if _, err := config.LoadAPI(func(k string) string { return env[k] }); err != nil {
					t.Errorf("%s admits %q, which the API refuses: %v", p.param, c, err)
				}
			}
			for m := time.Duration(1); m*time.Minute <= hi; m++ {
				if m*time.Minute >= bounds[0] && !re.MatchString(fmt.Sprintf("%dm", m)) {
					t.Errorf("%s refuses %dm, which is within bounds", p.param, m)
				}
			}
			for _, c := range typos {
				if re.MatchString(c) {
					t.Errorf("%s admits the typo %q", p.param, c)
				}
			}
			if admitted == 0 {
				t.Error("nothing admitted")
			}
		})
	}
}

// TestAlarms: the failure queue's depth and both functions' errors have alarms; with AlarmEmail
// they notify it through an SNS topic, without it they notify no one and no topic is made.
func TestAlarms(t *testing.T) {
	raw := rawTemplate(t)
	for _, email := range []string{"", "ops@cpx.example.com"} {
		d := deploy(t, raw, map[string]string{"AllowedOrigins": "https://a.example", "JwtSecretName": "s", "AlarmEmail": email})
		topic, hasTopic := d.Resources["AlarmTopic"]
		if hasTopic != (email != "") {
			t.Fatalf("AlarmEmail %q: AlarmTopic present = %v", email, hasTopic)
		}
		if hasTopic {
			want(t, "subscription protocol", path(topic, "Properties.Subscription.0.Protocol"), "email")
			want(t, "subscription endpoint", path(topic, "Properties.Subscription.0.Endpoint"), email)
		}
		cases := []struct {
			alarm, namespace, metric, dim, value, stat string
		}{
			{"FailureQueueAlarm", "AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "getatt:FailureQueue.QueueName", "Maximum"},
			{"ProcessorErrorsAlarm", "AWS/Lambda", "Errors", "FunctionName", "ref:ProcessorFunction", "Sum"},
			{"ApiErrorsAlarm", "AWS/Lambda", "Errors", "FunctionName", "ref:ApiFunction", "Sum"},
		}
		for _, c := range cases {
			a := resource(t, d, c.alarm, "AWS::CloudWatch::Alarm")
			p := mapOf(a["Properties"])
			want(t, c.alarm+" Namespace", p["Namespace"], c.namespace)
			want(t, c.alarm+" MetricName", p["MetricName"], c.metric)
			want(t, c.alarm+" Statistic", p["Statistic"], c.stat)
			want(t, c.alarm+" dimension", path(p, "Dimensions.0.Name"), c.dim)
			want(t, c.alarm+" dimension value", path(p, "Dimensions.0.Value"), c.value)
			// One failed event or one error is already worth a look.
			want(t, c.alarm+" ComparisonOperator", p["ComparisonOperator"], "GreaterThanThreshold")
			want(t, c.alarm+" Threshold", fmt.Sprint(p["Threshold"]), "0")
			actions, hasActions := p["AlarmActions"]
			switch {
			case email == "" && hasActions:
				t.Errorf("%s notifies %v without an AlarmEmail", c.alarm, actions)
			case email != "" && !slices.Equal(strs(actions), []string{"ref:AlarmTopic"}):
				t.Errorf("%s AlarmActions = %v, want the AlarmTopic", c.alarm, actions)
			}
		}
	}
}

// TestSamBuildsInSource: both functions share CodeUri "." (the repository root); without
// build_in_source, sam build copies the whole tree, .tools, .cache and .local included, once per
// function before running make.
func TestSamBuildsInSource(t *testing.T) {
	f, err := os.Open("samconfig.toml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	section, found := "", false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "[") {
			section = line
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok && section == "[default.build.parameters]" && strings.TrimSpace(k) == "build_in_source" {
			found = strings.TrimSpace(v) == "true"
		}
	}
	if !found {
		t.Error("infra/samconfig.toml [default.build.parameters] lacks build_in_source = true")
	}
}

// TestProcessorMemoryLimit: the processor's GOMEMLIMIT leaves room for the worst-case decode that
// the template's memory comment states, and stays well below the function's memory, where Lambda
// kills it; the API needs none.
func TestProcessorMemoryLimit(t *testing.T) {
	data, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`decodes to ~(\d+) MB`).FindSubmatch(data)
	if m == nil {
		t.Fatal("the processor's memory comment no longer states the worst-case decode (\"decodes to ~N MB\")")
	}
	var worstMB int
	fmt.Sscan(string(m[1]), &worstMB)
	d := deploy(t, rawTemplate(t), map[string]string{"AllowedOrigins": "https://a.example", "JwtSecretName": "s"})
	props := mapOf(d.Resources["ProcessorFunction"]["Properties"])
	limit := fmt.Sprint(path(props, "Environment.Variables.GOMEMLIMIT"))
	lm := regexp.MustCompile(`^(\d+)(MiB|GiB)$`).FindStringSubmatch(limit)
	if lm == nil {
		t.Fatalf("GOMEMLIMIT = %q, want N MiB or N GiB (the runtime's syntax)", limit)
	}
	var n int64
	fmt.Sscan(lm[1], &n)
	bytes := n << 20
	if lm[2] == "GiB" {
		bytes = n << 30
	}
	var memMB int64
	fmt.Sscan(fmt.Sprint(props["MemorySize"]), &memMB)
	// Lambda's MemorySize is in MiB. Keep at least 15% for stacks, the binary and the runtime, and
	// at least 1.5x the worst decode for the heap to breathe around it.
	if bytes > memMB<<20*85/100 {
		t.Errorf("GOMEMLIMIT %s leaves too little of %d MiB outside the heap", limit, memMB)
	}
	// A HEIC decode's WebAssembly sandbox is an mmap outside the heap, so outside GOMEMLIMIT: the
	// heap's limit and the sandbox's cap (heifwasm.MemoryLimit, which its own test ties to this
	// comment) together must still leave the 15%.
	cm := regexp.MustCompile(`capped at (\d+) MiB`).FindSubmatch(data)
	if cm == nil {
		t.Fatal("the processor's memory comment no longer states the WebAssembly cap (\"capped at N MiB\")")
	}
	var capMiB int64
	fmt.Sscan(string(cm[1]), &capMiB)
	if bytes+capMiB<<20 > memMB<<20*85/100 {
		t.Errorf("GOMEMLIMIT %s and the %d MiB sandbox leave too little of %d MiB", limit, capMiB, memMB)
	}
	if bytes < int64(worstMB)*1_000_000*3/2 {
		t.Errorf("GOMEMLIMIT %s is tight for the worst decode of ~%d MB", limit, worstMB)
	}
	if v := path(d.Resources["ApiFunction"], "Properties.Environment.Variables.GOMEMLIMIT"); v != nil {
		t.Errorf("the API sets GOMEMLIMIT %v", v)
	}
}
