package e2e

import (
	"errors"
	"testing"

	"github.com/ecsd-project/ecsd/agent/register"
)

// TestTerminalErrorEndsEcsd: an error no restart can fix (the host is
// registered in another cluster than ECS_CLUSTER names) ends agent.Run
// with register.ErrTerminal, its goroutines stopped, instead of hanging
// with the engine still running.
func TestTerminalErrorEndsEcsd(t *testing.T) {
	w := newWorld(t)
	w.registerHost("first")
	w.startEcsd("first")
	w.stopEcsd()
	err := w.primary().launch("second")
	if !errors.Is(err, register.ErrTerminal) {
		t.Fatalf("ecsd in another cluster: %v, want a terminal registration error", err)
	}
}
