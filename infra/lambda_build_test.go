package infra

import (
	"archive/zip"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// checkBootstrap asserts what provided.al2023 on arm64 needs of a bootstrap: an aarch64 ELF
// executable that loads no shared library, built from the expected main with the Lambda flags.
func checkBootstrap(t *testing.T, what string, data []byte, mainPkg string) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: not an ELF file: %v", what, err)
	}
	defer f.Close()
	if f.Machine != elf.EM_AARCH64 || f.Class != elf.ELFCLASS64 {
		t.Errorf("%s: machine %v class %v, want EM_AARCH64 ELFCLASS64", what, f.Machine, f.Class)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s: has a PT_INTERP program header: dynamically linked", what)
		}
	}
	if libs, err := f.DynString(elf.DT_NEEDED); err != nil || len(libs) > 0 {
		t.Errorf("%s: DT_NEEDED %v (err %v), want none", what, libs, err)
	}

	info, err := buildinfo.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s: no Go build info: %v", what, err)
	}
	if info.Path != mainPkg {
		t.Errorf("%s: built from %s, want %s", what, info.Path, mainPkg)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	for k, v := range map[string]string{"GOOS": "linux", "GOARCH": "arm64", "CGO_ENABLED": "0", "-tags": "lambda.norpc,nodynamic", "-trimpath": "true"} {
		if settings[k] != v {
			t.Errorf("%s: build setting %s = %q, want %q", what, k, settings[k], v)
		}
	}
}

func modulePath(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if mod, ok := strings.CutPrefix(line, "module "); ok {
			return strings.TrimSpace(mod)
		}
	}
	t.Fatal("go.mod has no module line")
	return ""
}

func runMake(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-C", ".."}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestMakeLambda builds what `make lambda` ships: two zips, each with one executable bootstrap.
func TestMakeLambda(t *testing.T) {
	t.Parallel()
	mod := modulePath(t)
	dist := t.TempDir()
	runMake(t, "lambda", "DIST="+dist)

	entries, err := os.ReadDir(dist)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "api.zip processor.zip" {
		t.Errorf("%s holds %v, want api.zip processor.zip and nothing else", dist, names)
	}
	for zipName, mainPkg := range map[string]string{"api.zip": mod + "/api/cmd/medicpx-api", "processor.zip": mod + "/processor/cmd/medicpx-processor"} {
		zr, err := zip.OpenReader(filepath.Join(dist, zipName))
		if err != nil {
			t.Fatal(err)
		}
		if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
			var got []string
			for _, f := range zr.File {
				got = append(got, f.Name)
			}
			t.Fatalf("%s holds %v, want exactly [bootstrap]", zipName, got)
		}
		bootstrap := zr.File[0]
		if bootstrap.Mode()&0o111 == 0 || !bootstrap.Mode().IsRegular() {
			t.Errorf("%s: bootstrap mode %v, want an executable regular file", zipName, bootstrap.Mode())
		}
		rc, err := bootstrap.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		zr.Close()
		if err != nil {
			t.Fatal(err)
		}
		checkBootstrap(t, zipName+":bootstrap", data, mainPkg)
	}
}

// TestSamBuildTargets runs the targets the way `sam build` does for BuildMethod makefile: one per
// function, with ARTIFACTS_DIR set.
func TestSamBuildTargets(t *testing.T) {
	t.Parallel()
	mod := modulePath(t)
	for target, mainPkg := range map[string]string{
		"build-ApiFunction":       mod + "/api/cmd/medicpx-api",
		"build-ProcessorFunction": mod + "/processor/cmd/medicpx-processor",
	} {
		t.Run(target, func(t *testing.T) {
			artifacts := t.TempDir()
			runMake(t, target, "ARTIFACTS_DIR="+artifacts)
			data, err := os.ReadFile(filepath.Join(artifacts, "bootstrap"))
			if err != nil {
				t.Fatal(err)
			}
			checkBootstrap(t, target+":bootstrap", data, mainPkg)
		})
	}
}
