package wsserver

import (
	"testing"

	"github.com/ecsd-project/ecsd/internal/leakcheck"
)

// TestMain fails the run if goroutines outlive the tests.
func TestMain(m *testing.M) { leakcheck.Main(m) }
