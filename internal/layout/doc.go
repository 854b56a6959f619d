// Package layout holds the tests that keep the repository's shape: every
// package has a doc.go, and dependencies point one way.
package layout
