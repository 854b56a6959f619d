// Command ecs-local serves a local Amazon ECS and SSM control plane for
// development, demos and tests. It is not built yet: see the README.
package main
