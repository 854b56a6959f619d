package wsclient

import (
	"fmt"
	"net/url"
	"strings"
)

// EndpointURL is the https (or http) URL of the handshake at endpoint: a
// bare host gets https://, wss and ws become https and http, "/ws" is
// appended to the path, and query is encoded with its keys sorted. The
// service ("ACS", "TCS") names the endpoint in errors.
func EndpointURL(service, endpoint string, query url.Values) (*url.URL, error) {
	if !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("parse %s endpoint %q: %w", service, endpoint, err)
	}
	switch u.Scheme {
	case "https", "http":
	case "wss":
		u.Scheme = "https"
	case "ws":
		u.Scheme = "http"
	default:
		return nil, fmt.Errorf("%s endpoint %q: unsupported scheme %q", service, endpoint, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%s endpoint %q has no host", service, endpoint)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.Path += "ws"
	u.RawPath = ""
	u.RawQuery = query.Encode()
	u.Fragment = ""
	return u, nil
}
