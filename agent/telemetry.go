package agent

import (
	"context"
	"errors"

	"github.com/ecsd-project/ecsd/agent/engine"
	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/runtime"
)

// errNoStats: the engine's runtime cannot sample containers (a test fake).
var errNoStats = errors.New("the container runtime does not report statistics")

// statsReader is the part of runtime.Runtime that samples a container.
type statsReader interface {
	Stats(ctx context.Context, id string) (runtime.Stats, error)
}

// telemetrySource feeds the TCS session: tasks from the engine, samples
// from the engine's runtime.
type telemetrySource struct {
	eng *engine.Engine
	rt  engine.Runtime
}

func (s telemetrySource) Tasks() []*task.Task { return s.eng.Tasks() }

func (s telemetrySource) Stats(ctx context.Context, runtimeID string) (runtime.Stats, error) {
	sr, ok := s.rt.(statsReader)
	if !ok {
		return runtime.Stats{}, errNoStats
	}
	return sr.Stats(ctx, runtimeID)
}
