package tcs

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/gorilla/websocket"
)

const (
	// signingService is the SigV4 service of the handshake and the frames.
	signingService = "ecs"
	// emptyPayloadHash is the SHA-256 of the handshake's empty body.
	emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	readBufferSize  = 4096
	writeBufferSize = 32768
)

// pollURL is the https URL of the handshake for endpoint: "/ws" appended
// and the query of §6 (no dockerVersion: the runtime is not Docker),
// encoded with keys sorted. Every frame is signed for this URL too.
func (s *Session) pollURL(endpoint string) (*url.URL, error) {
	if !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("parse TCS endpoint %q: %w", endpoint, err)
	}
	switch u.Scheme {
	case "https", "http":
	case "wss":
		u.Scheme = "https"
	case "ws":
		u.Scheme = "http"
	default:
		return nil, fmt.Errorf("TCS endpoint %q: unsupported scheme %q", endpoint, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("TCS endpoint %q has no host", endpoint)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.Path += "ws"
	u.RawPath = ""
	u.RawQuery = url.Values{
		"cluster":           {s.cfg.Cluster},
		"containerInstance": {s.cfg.ContainerInstanceARN},
		"agentVersion":      {s.cfg.AgentVersion},
		"agentHash":         {s.cfg.AgentHash},
	}.Encode()
	u.Fragment = ""
	return u, nil
}

// connect resolves the endpoint, signs the handshake and dials it. It
// returns the connection and the https URL its frames are signed for.
func (s *Session) connect(ctx context.Context) (*websocket.Conn, *url.URL, error) {
	endpoint, err := s.cfg.Endpoint(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("discover TCS endpoint: %w", err)
	}
	u, err := s.pollURL(endpoint)
	if err != nil {
		return nil, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("build TCS handshake for %s: %w", u.Host, err)
	}
	creds, err := s.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("retrieve credentials to sign the TCS handshake: %w", err)
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, emptyPayloadHash, signingService, s.cfg.Region, s.clock.Now()); err != nil {
		return nil, nil, fmt.Errorf("sign TCS handshake for %s: %w", u.Host, err)
	}

	wsURL := *u
	wsURL.Scheme = "wss"
	if u.Scheme == "http" {
		wsURL.Scheme = "ws"
	}
	d := websocket.Dialer{
		Proxy:            s.cfg.Proxy,
		HandshakeTimeout: s.cfg.HandshakeTimeout,
		ReadBufferSize:   readBufferSize,
		WriteBufferSize:  writeBufferSize,
		TLSClientConfig: &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: s.cfg.InsecureSkipVerify, // the operator's explicit choice
		},
	}
	s.log.Debug("dialing TCS", keyEndpoint, u.Host)
	ws, resp, err := d.DialContext(ctx, wsURL.String(), req.Header)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			_ = resp.Body.Close()
			if ex := handshakeError(body); ex != "" {
				return nil, nil, fmt.Errorf("TCS handshake with %s: %s: %s", u.Host, resp.Status, ex)
			}
			return nil, nil, fmt.Errorf("TCS handshake with %s: %s: %w", u.Host, resp.Status, err)
		}
		return nil, nil, fmt.Errorf("dial TCS at %s: %w", u.Host, err)
	}
	return ws, u, nil
}
