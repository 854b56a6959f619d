package acs

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"

	"github.com/gorilla/websocket"

	"github.com/ecsd-project/ecsd/agent/wsclient"
)

const (
	// runtimeVersion is sent bare as dockerVersion: ACS then registers no
	// agent-update support, as for the stock agent on containerd.
	runtimeVersion = "containerd"
	// protocolVersion 2: ACS closes connections whose heartbeats go unacked.
	protocolVersion = "2"
)

// pollURL is the https URL of the handshake for endpoint: "/ws" appended
// and the query of §2.1, encoded with keys sorted.
func (s *Session) pollURL(endpoint string, sendCredentials bool) (*url.URL, error) {
	return wsclient.EndpointURL("ACS", endpoint, url.Values{
		"agentHash":            {s.cfg.AgentHash},
		"agentVersion":         {s.cfg.AgentVersion},
		"clusterArn":           {s.cfg.Cluster},
		"containerInstanceArn": {s.cfg.ContainerInstanceARN},
		"dockerVersion":        {runtimeVersion},
		"protocolVersion":      {protocolVersion},
		"sendCredentials":      {strconv.FormatBool(sendCredentials)},
		"seqNum":               {"1"},
	})
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
	s.log.Debug("dialing ACS", keyEndpoint, u.Host)
	d := wsclient.Dialer{Service: "ACS", Region: s.cfg.Region, Credentials: s.cfg.Credentials,
		Settings: s.cfg.Settings, Now: s.clock.Now}
	ws, err := d.Dial(ctx, u)
	var refused *wsclient.RefusedError
	if errors.As(err, &refused) {
		if se := handshakeError(refused.StatusCode, refused.Body); se != nil {
			return nil, fmt.Errorf("ACS handshake with %s: %w", u.Host, se)
		}
	}
	return ws, err
}
