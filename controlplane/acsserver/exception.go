package acsserver

import (
	"encoding/json"
	"net/http"
)

// Exception refuses a handshake. It is written as ACS does, unframed:
// {"<Type>":"<Message>"} with HTTP status Status.
type Exception struct {
	Status  int
	Type    string // such as AccessDeniedException, InactiveInstanceException
	Message string
}

func (e *Exception) Error() string { return e.Type + ": " + e.Message }

// writeException writes ex as the handshake's response; the one place
// errors become HTTP.
func writeException(w http.ResponseWriter, ex *Exception) {
	status := ex.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	body, _ := json.Marshal(map[string]string{ex.Type: ex.Message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
