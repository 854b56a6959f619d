package tcsserver

import (
	"net/http"
	"net/url"
	"testing"
)

// FuzzParseFrame: whatever an agent sends as a frame, parsing it and
// building the request its signature covers never panics, and a parsed
// frame's body is what followed the header block.
func FuzzParseFrame(f *testing.F) {
	// Seeds: testdata/fuzz/FuzzParseFrame (a signed frame as ecsd sends
	// it, an unsigned one, broken header blocks).
	handshake := &http.Request{URL: &url.URL{Path: "/tcs/ws", RawQuery: "cluster=c"}, Host: "ecs-local"}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, body, err := parseFrame(data)
		if err != nil {
			return
		}
		if len(body) > len(data) {
			t.Fatalf("body longer than the frame")
		}
		r := frameRequest(handshake, h)
		if r.Method != http.MethodGet || r.URL.Path != "/tcs/ws" || r.Host == "" {
			t.Fatalf("request %s %s host %q", r.Method, r.URL, r.Host)
		}
	})
}
