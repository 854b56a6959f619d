package network

import "errors"

// Error kinds.
var (
	// ErrPortUnavailable: a host port is reserved, mapped by another
	// container, in use on the host, or no dynamic port is left.
	ErrPortUnavailable = errors.New("host port unavailable")
	// ErrInvalid: a bad id, mode or port mapping.
	ErrInvalid = errors.New("invalid network request")
	// ErrExists: the id already has an attachment.
	ErrExists = errors.New("network attachment exists")
)
