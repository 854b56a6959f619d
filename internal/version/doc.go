// Package version holds the build's version, stamped by the Makefile.
package version

// Set at link time with -X.
var (
	Version = "dev"
	Commit  = "unknown"
)
