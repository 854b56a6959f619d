// Package logs gives a container's stdout and stderr to the log driver its
// task definition names (ECS logConfiguration): json-file, journald,
// awslogs (CloudWatch Logs) or none. New returns a Logger whose Stdout and
// Stderr writers the runtime copies the container's output into; Close
// flushes what is buffered.
//
// All drivers see lines, cut the way Docker cuts them: a write is split at
// newlines; a line longer than the driver's limit (16 KiB for json-file and
// journald, one CloudWatch event for awslogs) is cut into partial messages
// without a newline, and so are bytes still unterminated at Close. The
// writers never fail and never block on a remote service: a line a driver
// cannot keep is counted in Dropped and logged.
//
// Files live under the agent's data directory, one directory per container
// (ContainerDir; the caller passes it as Target.Dir):
//
//	DATA_DIR/logs/
//	  TASK_ID/
//	    CONTAINER/
//	      CONTAINER.log          json-file: one JSON object per line,
//	      CONTAINER.log.1 …      {"log":"…\n","stream":"stdout","time":"RFC3339Nano"};
//	                             rotated at max-size, .1 the newest, max-file in all
//	      awslogs-spool/HASH/    awslogs: what is not yet in CloudWatch, per stream
//	        stream               the log group and stream, for people
//	        lock                 flock held by the one Logger using the spool
//	        cursor               "SEGMENT OFFSET": everything before it was accepted
//	        SEGMENT.seg          records: u32 length, i64 unix ms, message
//
// awslogs writes every event to its spool first (blocking mode: in the
// container's write; non-blocking: from an in-memory buffer of
// max-buffer-size) and a shipper sends the spool to PutLogEvents in order,
// every 5 s or when a batch is full, retrying with backoff, recreating the
// stream (and the group with awslogs-create-group) when CloudWatch lost it.
// While CloudWatch is unreachable the spool grows up to
// ecsd-spool-max-bytes (default 64 MiB), then drops. Empty lines are not
// sent (CloudWatch refuses empty events); invalid UTF-8 becomes U+FFFD. Close ships for up to
// 15 s and returns an error naming what it left; a Logger started later
// for the same region, group and stream ships that first. New's context
// bounds only the setup (creating the group and stream); the shipper runs
// until Close.
//
//	write ─► lines ─► [non-blocking: memory buffer] ─► spool (disk) ─► PutLogEvents
//
// ReadJSONFile reads a json-file log back, rotated files first, for
// `ecsd logs`.
package logs
