// Command mkimage builds the busybox test images (ecsd.test/busybox:shell,
// :entrypoint, :user, :health) as one OCI archive for `make demo`, which
// imports it into containerd: no registry is needed on an offline host.
//
//	go run ./internal/demo/mkimage DIR   # prints the archive's path
package main
