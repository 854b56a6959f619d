package wsclient

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ecsd-project/ecsd/wire/wsenvelope"
)

// ErrNoType is a frame that is neither an envelope nor an unframed error.
var ErrNoType = errors.New("frame has no type")

// Encode returns the {"type","message"} envelope of body.
func Encode(msgType string, body any) ([]byte, error) {
	inner, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", msgType, err)
	}
	frame, err := json.Marshal(wsenvelope.Message{Type: msgType, Message: inner})
	if err != nil {
		return nil, fmt.Errorf("encode %s envelope: %w", msgType, err)
	}
	return frame, nil
}

// DecodeFrame decodes one text frame: the {"type","message"} envelope, or
// the unframed error form {"<ExceptionName>":"<message>"}, which becomes an
// envelope whose message is {"message":"<message>"}, the body of both
// services' exceptions.
func DecodeFrame(data []byte) (wsenvelope.Message, error) {
	var msg wsenvelope.Message
	if err := json.Unmarshal(data, &msg); err != nil {
		return wsenvelope.Message{}, fmt.Errorf("decode frame: %w", err)
	}
	if msg.Type != "" {
		return msg, nil
	}
	var unframed map[string]json.RawMessage
	if err := json.Unmarshal(data, &unframed); err != nil || len(unframed) != 1 {
		return wsenvelope.Message{}, ErrNoType
	}
	for typ, v := range unframed {
		var text string
		if typ == "" || json.Unmarshal(v, &text) != nil {
			return wsenvelope.Message{}, ErrNoType
		}
		body, err := json.Marshal(exception{Message: text})
		if err != nil {
			return wsenvelope.Message{}, fmt.Errorf("re-encode unframed %s: %w", typ, err)
		}
		msg = wsenvelope.Message{Type: typ, Message: body}
	}
	return msg, nil
}

// exception is the body of an exception in both services (acs.Exception,
// tcs.Exception).
type exception struct {
	Message string `json:"message,omitempty"`
}

// DecodeRefusal reads the body of a refused handshake (RefusedError.Body)
// as an exception frame, framed ({"type":"X","message":{"message":"..."}},
// or with a bare string message) or not ({"X":"..."}). ok is false when the
// body is no frame at all.
func DecodeRefusal(body []byte) (typ, message string, ok bool) {
	msg, err := DecodeFrame(body)
	if err != nil || msg.Type == "" {
		return "", "", false
	}
	var ex exception
	if err := json.Unmarshal(msg.Message, &ex); err != nil {
		// A framed error whose message is a bare string.
		_ = json.Unmarshal(msg.Message, &ex.Message)
	}
	return msg.Type, ex.Message, true
}
