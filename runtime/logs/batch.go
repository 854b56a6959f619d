package logs

import (
	"bytes"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// PutLogEvents limits.
const (
	maxBatchEvents = 10_000
	maxBatchBytes  = 1_048_576 // messages plus eventOverhead each
	eventOverhead  = 26
	maxEventBytes  = 262_144 - eventOverhead // one event's message
	maxBatchSpanMs = 24 * 60 * 60 * 1000     // first to last event in one call
)

// event is one CloudWatch log event.
type event struct {
	ts  int64 // unix milliseconds
	msg []byte
}

// batch is the events of one PutLogEvents call.
type batch struct {
	events []types.InputLogEvent
	bytes  int // messages plus eventOverhead each
}

// add appends ev if one call can still carry it: at most 10,000 events and
// 1,048,576 bytes, spanning less than 24 hours, in timestamp order. An
// event that does not fit starts the next batch.
func (b *batch) add(ev event) bool {
	size := len(ev.msg) + eventOverhead
	if n := len(b.events); n > 0 {
		first, last := *b.events[0].Timestamp, *b.events[n-1].Timestamp
		if n >= maxBatchEvents || b.bytes+size > maxBatchBytes ||
			ev.ts < last || ev.ts-first >= maxBatchSpanMs {
			return false
		}
	}
	ts, msg := ev.ts, string(ev.msg)
	b.events = append(b.events, types.InputLogEvent{Timestamp: &ts, Message: &msg})
	b.bytes += size
	return true
}

// splitEvent makes a line into CloudWatch messages: valid UTF-8 (invalid
// bytes become U+FFFD, as the service would), cut before maxEventBytes at
// a character boundary. Empty lines give nothing: CloudWatch refuses empty
// messages.
func splitEvent(line []byte) [][]byte {
	if len(line) == 0 {
		return nil
	}
	if !utf8.Valid(line) {
		line = bytes.ToValidUTF8(line, []byte("\uFFFD"))
	}
	if len(line) <= maxEventBytes {
		return [][]byte{line}
	}
	var out [][]byte
	for len(line) > maxEventBytes {
		n := maxEventBytes
		for n > 0 && !utf8.RuneStart(line[n]) {
			n--
		}
		out = append(out, line[:n])
		line = line[n:]
	}
	if len(line) > 0 {
		out = append(out, line)
	}
	return out
}
