package processor

import (
	"bufio"
	"bytes"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"medicpx/shared/imagepolicy"
)

// TestEveryReasonIsInTheTable: every rejection reason the processor's code can produce is in
// imagepolicy's table, so the API has a message of its own for each. It type-checks the
// processor's packages (not their tests) and looks at every constant expression of type
// imagepolicy.Reason: a named constant, or a string literal that becomes a Reason by conversion
// or by being passed as one (pipeline.Reject("new_reason", …) compiles).
func TestEveryReasonIsInTheTable(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list -export")
	}
	// The export data of every dependency, from the build cache.
	cmd := exec.Command("go", "list", "-export", "-deps", "-f", "{{.ImportPath}}\t{{.Export}}\t{{.Dir}}\t{{join .GoFiles \",\"}}", "./...")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	type pkg struct{ dir, files string }
	export := map[string]string{}
	var mine []string
	pkgs := map[string]pkg{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 4 {
			t.Fatalf("go list line %q", sc.Text())
		}
		export[f[0]] = f[1]
		if f[0] == "medicpx/processor" || strings.HasPrefix(f[0], "medicpx/processor/") {
			mine = append(mine, f[0])
			pkgs[f[0]] = pkg{f[2], f[3]}
		}
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		return os.Open(export[path])
	})
	found := map[imagepolicy.Reason]bool{}
	for _, path := range mine {
		var files []*ast.File
		for _, name := range strings.Split(pkgs[path].files, ",") {
			if name == "" {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(pkgs[path].dir, name), nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
		if _, err := (&types.Config{Importer: imp}).Check(path, fset, files, info); err != nil {
			t.Fatalf("type-check %s: %v", path, err)
		}
		for expr, tv := range info.Types {
			if tv.Value == nil || tv.Value.Kind() != constant.String || types.Unalias(tv.Type).String() != "medicpx/shared/imagepolicy.Reason" {
				continue
			}
			r := imagepolicy.Reason(constant.StringVal(tv.Value))
			if !r.Known() {
				t.Errorf("%s: reason %q is not in imagepolicy's table", fset.Position(expr.Pos()), r)
			}
			found[r] = true
		}
	}
	// The test sees what it should: the processor's own reasons and the pipeline's.
	for _, r := range []imagepolicy.Reason{imagepolicy.ReasonDeleted, imagepolicy.ReasonProcessingFailed, imagepolicy.ReasonCorrupt, imagepolicy.ReasonTrailingData} {
		if !found[r] {
			t.Errorf("reason %q not found in the processor's code (found %v)", r, slices.Sorted(maps.Keys(found)))
		}
	}
	t.Logf("%d reasons in the processor's code, %d in the table", len(found), len(imagepolicy.Reasons()))
}
