package tcsserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
)

// errUnsigned is a frame without a header block.
var errUnsigned = errors.New("frame is not signed: no header block")

// parseFrame splits a signed frame into its header block and its body,
// the JSON envelope.
func parseFrame(data []byte) (http.Header, []byte, error) {
	block, body, ok := bytes.Cut(data, []byte("\r\n\r\n"))
	if !ok || bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		return nil, nil, errUnsigned
	}
	r := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(bytes.Clone(block), "\r\n\r\n"...))))
	h, err := r.ReadMIMEHeader()
	if err != nil {
		return nil, nil, fmt.Errorf("frame header block: %w", err)
	}
	return http.Header(h), body, nil
}

// frameRequest is the request a frame's signature covers: GET of the
// handshake's URL, with the frame's headers and Host.
func frameRequest(handshake *http.Request, h http.Header) *http.Request {
	u := &url.URL{Path: handshake.URL.Path, RawPath: handshake.URL.RawPath, RawQuery: handshake.URL.RawQuery}
	host := h.Get("Host")
	if host == "" {
		host = handshake.Host
	}
	return &http.Request{Method: http.MethodGet, URL: u, Host: host, Header: h, TLS: handshake.TLS}
}
