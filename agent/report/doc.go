// Package report drains the store's outbox into ECS's SubmitTaskStateChange,
// in order, deleting an entry only once ECS accepted it, and retrying for as
// long as the ECS agent does.
package report
