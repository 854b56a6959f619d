// Package credentials keeps the IAM role credentials ACS delivers for
// tasks, by credentials id, so that the task endpoints (credentials/endpoint)
// can vend a task its own credentials and the engine can use
// execution-role credentials. The secrets never reach a log.
package credentials
