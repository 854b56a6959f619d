// Package e2e holds the end-to-end tests: ecs-local in-process, ecsd built
// as `ecsd run` builds it, a private containerd and a local registry, driven
// only through the ECS and SSM APIs.
package e2e
