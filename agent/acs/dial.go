package acs

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/gorilla/websocket"
)

const (
	// signingService is the SigV4 service of the ACS handshake.
	signingService = "ecs"
	// emptyPayloadHash is the SHA-256 of the handshake's empty body.
	emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	// runtimeVersion is sent bare as dockerVersion: ACS then registers no
	// agent-update support, as for the stock agent on containerd.
	runtimeVersion = "containerd"
	// protocolVersion 2: ACS closes connections whose heartbeats go unacked.
	protocolVersion = "2"

	readBufferSize  = 4096
	writeBufferSize = 32768
)

// pollURL is the https URL of the handshake for endpoint: "/ws" appended
// and the query of §2.1, encoded with keys sorted.
func (s *Session) pollURL(endpoint string, sendCredentials bool) (*url.URL, error) {
	if !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("parse ACS endpoint %q: %w", endpoint, err)
	}
	switch u.Scheme {
	case "https", "http":
	case "wss":
		u.Scheme = "https"
	case "ws":
		u.Scheme = "http"
	default:
		return nil, fmt.Errorf("ACS endpoint %q: unsupported scheme %q", endpoint, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("ACS endpoint %q has no host", endpoint)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.Path += "ws"
	u.RawPath = ""
	u.RawQuery = url.Values{
		"agentHash":            {s.cfg.AgentHash},
		"agentVersion":         {s.cfg.AgentVersion},
		"clusterArn":           {s.cfg.Cluster},
		"containerInstanceArn": {s.cfg.ContainerInstanceARN},
		"dockerVersion":        {runtimeVersion},
		"protocolVersion":      {protocolVersion},
		"sendCredentials":      {strconv.FormatBool(sendCredentials)},
		"seqNum":               {"1"},
	}.Encode()
	u.Fragment = ""
	return u, nil
}

// connect resolves the endpoint, signs the handshake and dials it. A
// refusal whose body is an ACS error frame comes back as a *ServerError.
func (s *Session) connect(ctx context.Context) (*websocket.Conn, error) {
	endpoint, err := s.cfg.Endpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("discover ACS endpoint: %w", err)
	}
	u, err := s.pollURL(endpoint, !s.everConnected)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("build ACS handshake for %s: %w", u.Host, err)
	}
	creds, err := s.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("retrieve credentials to sign the ACS handshake: %w", err)
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, emptyPayloadHash, signingService, s.cfg.Region, s.clock.Now()); err != nil {
		return nil, fmt.Errorf("sign ACS handshake for %s: %w", u.Host, err)
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
	s.log.Debug("dialing ACS", keyEndpoint, u.Host)
	ws, resp, err := d.DialContext(ctx, wsURL.String(), req.Header)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
			_ = resp.Body.Close()
			if se := handshakeError(resp.StatusCode, body); se != nil {
				return nil, fmt.Errorf("ACS handshake with %s: %w", u.Host, se)
			}
			return nil, fmt.Errorf("ACS handshake with %s: %s: %w", u.Host, resp.Status, err)
		}
		return nil, fmt.Errorf("dial ACS at %s: %w", u.Host, err)
	}
	return ws, nil
}
