package infra

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cfnLint runs AWS's CloudFormation linter (the Python cfn-lint, which applies the SAM transform
// with aws-sam-translator and then checks resource schemas, intrinsic functions, IAM policy
// syntax, dependency cycles and more) with experimental and informational rules on.
// The machine image ships it (pip cfn-lint); npm's "cfn-lint" is an unmaintained 2019 port
// without SAM support, so it is not used. A missing linter fails the test: it is never skipped.
func cfnLint(t *testing.T, template string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatalf("cfn-lint is not on PATH (the image's pip package cfn-lint provides it): %v", err)
	}
	cmd := exec.Command(bin, "--include-experimental", "--include-checks", "I", "--", template)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

func TestCfnLintPasses(t *testing.T) {
	t.Parallel()
	out, err := cfnLint(t, templatePath)
	if err != nil {
		t.Fatalf("cfn-lint %s: %v\n%s", templatePath, err, out)
	}
}

// TestCfnLintCatchesACycle proves the linter checks the transformed template's dependency graph,
// which is what keeps the bucket ↔ processor wiring honest: referring to the bucket from the
// processor (instead of its computed name) must be reported as a circular dependency.
func TestCfnLintCatchesACycle(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	var changed []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "S3_BUCKET:") {
			line = line[:strings.Index(line, "S3_BUCKET:")] + "S3_BUCKET: !Ref ImagesBucket"
		}
		changed = append(changed, line)
	}
	mutated := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(mutated, []byte(strings.Join(changed, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := cfnLint(t, mutated)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || !strings.Contains(out, "E3004") {
		t.Fatalf("cfn-lint on a template with S3_BUCKET: !Ref ImagesBucket: err %v, want E3004 (circular dependency)\n%s", err, out)
	}
}
