package wsenvelope

import (
	"encoding/json"
	"log/slog"
)

// Message is the envelope of every ACS and TCS frame in either direction.
type Message struct {
	// Type is the model shape name of Message, one of the protocol's Type*
	// constants.
	Type string `json:"type"`
	// Message is the shape itself, decoded once Type is known.
	Message json.RawMessage `json:"message"`
}

// LogValue logs the envelope's type and size only: the body may carry
// credentials.
func (m Message) LogValue() slog.Value {
	return slog.GroupValue(slog.String("type", m.Type), slog.Int("bytes", len(m.Message)))
}
