package wsclient

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/gorilla/websocket"
)

const (
	// SigningService is the SigV4 service of the ACS and TCS handshakes
	// (and of TCS's frames).
	SigningService = "ecs"
	// EmptyPayloadHash is the SHA-256 of the handshake's empty body.
	EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

	readBufferSize  = 4096
	writeBufferSize = 32768
	// refusalBodyLimit bounds how much of a refused handshake's body is read.
	refusalBodyLimit = 4096
)

// Dialer opens SigV4-signed websocket connections to one ECS service.
type Dialer struct {
	// Service names the service in errors: "ACS", "TCS".
	Service     string
	Region      string
	Credentials aws.CredentialsProvider
	// Settings gives Proxy, InsecureSkipVerify and HandshakeTimeout.
	Settings Settings
	// Now is the signing time.
	Now func() time.Time
}

// RefusedError is a handshake the server answered with an HTTP error; the
// service decodes Body into its own error kinds.
type RefusedError struct {
	Service string
	Host    string
	// Status is the response's status line, such as "400 Bad Request".
	Status     string
	StatusCode int
	// Body is the start (at most 4 KiB) of the response body.
	Body []byte
	// Err is the websocket library's error, websocket.ErrBadHandshake.
	Err error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("%s handshake with %s: %s: %v", e.Service, e.Host, e.Status, e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }

// Dial signs a GET of u, an https or http URL from EndpointURL, and opens
// the websocket at its wss or ws twin. A handshake the server refuses with
// an HTTP response comes back as a *RefusedError.
func (d *Dialer) Dial(ctx context.Context, u *url.URL) (*websocket.Conn, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("build %s handshake for %s: %w", d.Service, u.Host, err)
	}
	creds, err := d.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("retrieve credentials to sign the %s handshake: %w", d.Service, err)
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, EmptyPayloadHash, SigningService, d.Region, d.Now()); err != nil {
		return nil, fmt.Errorf("sign %s handshake for %s: %w", d.Service, u.Host, err)
	}

	wsURL := *u
	wsURL.Scheme = "wss"
	if u.Scheme == "http" {
		wsURL.Scheme = "ws"
	}
	dialer := websocket.Dialer{
		Proxy:            d.Settings.Proxy,
		HandshakeTimeout: d.Settings.HandshakeTimeout,
		ReadBufferSize:   readBufferSize,
		WriteBufferSize:  writeBufferSize,
		TLSClientConfig: &tls.Config{
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: d.Settings.InsecureSkipVerify, // the operator's explicit choice
		},
	}
	ws, resp, err := dialer.DialContext(ctx, wsURL.String(), req.Header)
	if err != nil {
		if resp != nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, refusalBodyLimit))
			_ = resp.Body.Close()
			return nil, &RefusedError{Service: d.Service, Host: u.Host, Status: resp.Status,
				StatusCode: resp.StatusCode, Body: body, Err: err}
		}
		return nil, fmt.Errorf("dial %s at %s: %w", d.Service, u.Host, err)
	}
	return ws, nil
}
