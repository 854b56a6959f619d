// Package agent runs ecsd's parts together: it opens nothing itself but is
// handed the store, runtime, network and ECS client built in cmd/ecsd, then
// recovers tasks, registers the container instance, drains state changes
// to ECS, and keeps the ACS session, supervising each part's goroutine.
//
//	ACS session ──payload──► handler ──Accept──► engine ──state──► store outbox ──► reporter ──► ECS
package agent
