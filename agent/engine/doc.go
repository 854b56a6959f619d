// Package engine runs ECS tasks on the container runtime: one worker goroutine per task drives its containers through pull, create, start, health checks and stop, and records every state change.
package engine
