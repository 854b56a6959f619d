// Package endpoint serves the HTTP endpoints the ECS agent offers on the
// host: the task endpoint (127.0.0.1:51679 by default, reached by tasks as
// 169.254.170.2:80 through runtime/network's redirect) with task IAM role
// credentials (/v2/credentials/{id}, /v1/credentials?id=) and task metadata
// (/v4/{endpointId}, /v4/{endpointId}/task, their /stats in Docker's stats
// JSON, and the same under /v3), and the introspection API (/v1/metadata,
// /v1/tasks).
//
// It knows tasks only through the small TaskLookup interface (a copy of
// each task, in the wire/tmds shapes plus the ids and addresses used to
// authorise a caller), implemented by the agent; credentials come from a
// CredentialsLookup such as *credentials.Store.
//
// Who may read what: a credentials id and an endpoint id are unguessable
// (the first comes from ACS, the second is random per container). On top of
// that, a caller whose source address is a task container's address (a
// bridge-mode container; DNAT keeps the source address) may read only its
// own task's credentials and metadata; anything else is answered as if the
// id were unknown. Callers from other addresses (host processes and
// host-network tasks, whose source is a host address) are served by id.
//
// Secrets never reach a log; requests are rate limited (token bucket) and
// answered 429 beyond the limit.
package endpoint
