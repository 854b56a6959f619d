package tcs

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/gorilla/websocket"

	"github.com/ecsd-project/ecsd/agent/wsclient"
)

// pollURL is the https URL of the handshake for endpoint: "/ws" appended
// and the query of §6 (no dockerVersion: the runtime is not Docker),
// encoded with keys sorted. Every frame is signed for this URL too.
func (s *Session) pollURL(endpoint string) (*url.URL, error) {
	return wsclient.EndpointURL("TCS", endpoint, url.Values{
		"cluster":           {s.cfg.Cluster},
		"containerInstance": {s.cfg.ContainerInstanceARN},
		"agentVersion":      {s.cfg.AgentVersion},
		"agentHash":         {s.cfg.AgentHash},
	})
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
	s.log.Debug("dialing TCS", keyEndpoint, u.Host)
	d := wsclient.Dialer{Service: "TCS", Region: s.cfg.Region, Credentials: s.cfg.Credentials,
		Settings: s.cfg.Settings, Now: s.clock.Now}
	ws, err := d.Dial(ctx, u)
	if err != nil {
		var refused *wsclient.RefusedError
		if errors.As(err, &refused) {
			if typ, msg, ok := wsclient.DecodeRefusal(refused.Body); ok {
				return nil, nil, fmt.Errorf("TCS handshake with %s: %s: %s: %s", u.Host, refused.Status, typ, msg)
			}
		}
		return nil, nil, err
	}
	return ws, u, nil
}
