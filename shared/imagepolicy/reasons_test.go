package imagepolicy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestReasonTable: the table names each reason once, and each has a message of its own, not the
// fallback; a reason not in it gets the fallback.
func TestReasonTable(t *testing.T) {
	seen := map[Reason]bool{}
	msgs := map[string]Reason{}
	for _, r := range Reasons() {
		if r == "" || seen[r] {
			t.Errorf("reason %q is empty or listed twice", r)
		}
		seen[r] = true
		if !r.Known() {
			t.Errorf("reason %q is listed but not Known", r)
		}
		m := r.Message()
		if m == "" || m == FallbackMessage {
			t.Errorf("reason %q has no message of its own", r)
		}
		if other, dup := msgs[m]; dup {
			t.Errorf("reasons %q and %q share a message", other, r)
		}
		msgs[m] = r
	}
	if len(seen) != 14 {
		t.Errorf("%d reasons, want 14 (every reason the processor writes)", len(seen))
	}
	for _, r := range []Reason{"", "something_new", "Corrupt"} {
		if r.Known() || r.Message() != FallbackMessage {
			t.Errorf("reason %q: Known %v, message %q; want the fallback", r, r.Known(), r.Message())
		}
	}
}

// TestEveryReasonConstantIsInTheTable: a Reason constant declared in this package but left out of
// the table would be written by the processor and shown with the fallback message.
func TestEveryReasonConstantIsInTheTable(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset, n := token.NewFileSet(), 0
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(node ast.Node) bool {
			vs, ok := node.(*ast.ValueSpec)
			if !ok {
				return true
			}
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Reason" {
				return false
			}
			for i, name := range vs.Names {
				if i >= len(vs.Values) {
					t.Errorf("%s: a Reason without a value", name.Name)
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("%s: not a string literal", name.Name)
					continue
				}
				v, _ := strconv.Unquote(lit.Value)
				if !Reason(v).Known() {
					t.Errorf("%s = %q is not in the table", name.Name, v)
				}
				n++
			}
			return false
		})
	}
	if n != len(Reasons()) {
		t.Errorf("%d Reason constants, %d reasons in the table", n, len(Reasons()))
	}
}
