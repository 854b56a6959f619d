package runtime

import "errors"

// Error kinds. The text of each is the name ECS uses for that failure, so a
// wrapped error reads as ECS reports it ("CannotPullContainerError: ...").
var (
	ErrCannotPull    = errors.New("CannotPullContainerError")
	ErrCannotCreate  = errors.New("CannotCreateContainerError")
	ErrCannotStart   = errors.New("CannotStartContainerError")
	ErrCannotStop    = errors.New("CannotStopContainerError")
	ErrCannotInspect = errors.New("CannotInspectContainerError")
	ErrOutOfMemory   = errors.New("OutOfMemoryError")

	// ErrNotFound: no such container, image or task.
	ErrNotFound = errors.New("not found")

	// ErrClosed: the Runtime was closed while it watched the container,
	// which is left running for the next Runtime to attach to.
	ErrClosed = errors.New("runtime closed")
)
