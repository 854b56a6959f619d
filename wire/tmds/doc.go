// Package tmds holds the JSON shapes of the endpoints the ECS agent serves
// to tasks and to the host, spelled exactly as the ECS agent spells them:
// task IAM role credentials (/v1/credentials, /v2/credentials/{id}), task
// metadata v3/v4 (/v4/{endpointId}, /v4/{endpointId}/task) and the
// introspection API (/v1/metadata, /v1/tasks). Data only; ecsd's
// credentials/endpoint serves them and tests decode them.
package tmds
