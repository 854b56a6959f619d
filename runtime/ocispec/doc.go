// Package ocispec holds the OCI spec options ecsd needs that containerd's
// pkg/oci lacks, or implements differently from Docker: memory reservation
// and swappiness, Docker-named ulimits, capabilities with Docker's
// CapAdd/CapDrop rules, devices, tmpfs and bind mounts, /dev/shm size,
// sysctls, an init process, the container's /etc/hosts, /etc/resolv.conf
// and /etc/hostname, and Docker's ENTRYPOINT/CMD/Env/WorkingDir rules.
//
// Each option is an oci.SpecOpts that only edits the spec it is given (apart
// from WithDevice, which stats the host device), so options are table-tested
// on a spec from oci.GenerateSpec with a nil client. Where containerd already
// has the option (oci.WithMemoryLimit, oci.WithMemorySwap, oci.WithCPUShares,
// oci.WithPidsLimit, oci.WithPrivileged, oci.WithRootFSReadonly,
// oci.WithHostNamespace, oci.WithUser, ...), callers use containerd's.
//
// ocispec knows nothing of ECS or of ecsd's runtime package, which imports
// it.
package ocispec
