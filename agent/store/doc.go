// Package store keeps ecsd's durable state in one bbolt file: accepted
// tasks, the outbox of unreported changes, and the instance identity.
//
// The file is $ECS_DATADIR/ecsd.db (callers pass the full path), mode 0600
// in a directory created 0700. One process holds it at a time (a bbolt
// file lock; a second Open fails with ErrLocked after Options.LockTimeout).
//
// Layout, schema version 2:
//
//	ecsd.db
//	├── meta                          strings
//	│   ├── "schema-version"   → "2"  (decimal; written by migrations only)
//	│   ├── "identity"         → JSON Identity (written by SetIdentity only)
//	│   └── <any other key>    → value of SetMeta, e.g. "task-manifest-seq-num"
//	├── tasks
//	│   └── <task ARN>         → JSON *task.Task (credential secrets removed)
//	├── outbox                        state changes ECS has not yet accepted
//	│   └── <seq: 8-byte big-endian uint64, from NextSequence>
//	│                          → JSON Entry {"seq", "queuedAt", "change": task.StateChange}
//	└── outbox-index                  the outbox by task, for dedupe and counts
//	    └── <task ARN> 0x00 <seq: 8 bytes>  → empty
//
//	identity.json (beside ecsd.db, 0600)  a copy of meta/"identity", written
//	                                      atomically, read back only when a
//	                                      damaged ecsd.db is replaced
//
// Rules the package keeps:
//
//   - A change enters the outbox in the same transaction as the task state
//     it describes (PutTask). Outbox order is global, so also per task. A
//     change equal to the task's last pending one (same task status, same
//     set of container name, status and exit code) is not added again.
//   - An entry leaves the outbox only through Delivered, once ECS accepted
//     it. DeleteTask refuses (ErrUndelivered) while a task still has
//     entries: its reports must not be lost with it.
//   - A task's desired status never moves back in the store: PutTask and
//     AcceptTasks keep the stored desired status when it is further along.
//   - Credential secrets are never written (task.FromACS drops them; the
//     store drops them again before encoding).
//
// Schema history (migrations, applied forward, one transaction each):
//
//	1  meta (schema-version, identity, metadata), tasks
//	2  outbox and outbox-index
//
// A file with a newer schema than this code knows is refused
// (ErrNewerSchema), never rewritten.
//
// Every Open checks the file: bbolt's own consistency check, the meta
// bucket, and that every stored value decodes. A file that fails (or that
// bbolt cannot open at all) is renamed to ecsd.db.corrupt-<UTC time>, a
// fresh store is created, the identity is restored from identity.json,
// the event is logged at Error level, and Recovered reports it so that
// the agent rebuilds its tasks from containerd labels.
package store
