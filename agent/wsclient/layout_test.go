package wsclient

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoAgentPackage: agent/acs and agent/tcs build on this
// package, so it must not lean on them or on any other part of the agent.
func TestImportsNoAgentPackage(t *testing.T) {
	const self = "github.com/ecsd-project/ecsd/agent/wsclient"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", self).Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/ecsd-project/ecsd/") && dep != self &&
			!strings.HasPrefix(dep, "github.com/ecsd-project/ecsd/wire/") {
			t.Errorf("%s imports %s; it may import only wire/ packages of this module", self, dep)
		}
	}
}
