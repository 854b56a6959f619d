package layout

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/ecsd-project/ecsd"

type goPackage struct {
	ImportPath string
	Dir        string
	Deps       []string
	GoFiles    []string
}

func listPackages(t *testing.T) []goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-json", module+"/...")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(out)
	for {
		var p goPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return pkgs
}

func TestEveryPackageHasDoc(t *testing.T) {
	for _, p := range listPackages(t) {
		if len(p.GoFiles) == 0 {
			continue
		}
		if _, err := os.Stat(filepath.Join(p.Dir, "doc.go")); err != nil {
			t.Errorf("%s has no doc.go saying what it is for", p.ImportPath)
		}
	}
}

// TestImportDirection: cmd → agent → runtime, credentials, ssm → wire;
// controlplane → wire. Lower layers never import the agent.
func TestImportDirection(t *testing.T) {
	forbidden := map[string][]string{
		"runtime":      {"agent", "controlplane", "cmd"},
		"credentials":  {"agent", "controlplane", "cmd"},
		"ssm":          {"agent", "controlplane", "cmd"},
		"wire":         {"agent", "runtime", "credentials", "ssm", "controlplane", "cmd"},
		"controlplane": {"agent", "runtime", "credentials", "cmd"},
		"agent":        {"cmd", "controlplane"},
	}
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		top, _, _ := strings.Cut(rel, "/")
		bans := forbidden[top]
		if len(bans) == 0 {
			continue
		}
		deps, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", p.ImportPath).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", p.ImportPath, err)
		}
		for _, d := range strings.Fields(string(deps)) {
			if !strings.HasPrefix(d, module+"/") {
				continue
			}
			dtop, _, _ := strings.Cut(strings.TrimPrefix(d, module+"/"), "/")
			for _, b := range bans {
				if dtop == b {
					t.Errorf("%s imports %s: %s/ must not depend on %s/", p.ImportPath, d, top, b)
				}
			}
		}
	}
}
