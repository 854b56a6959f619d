package config

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/http/httpproxy"
)

// AlwaysNoProxy are the hosts NO_PROXY always includes: the task
// credentials and metadata endpoint, instance metadata and loopback.
// ecsd's own local endpoints must never be reached through a proxy.
func AlwaysNoProxy() []string {
	return []string{"169.254.170.2", "169.254.169.254", "127.0.0.1", "localhost", "::1"}
}

// extendNoProxy returns v's entries, trimmed and without empties, followed
// by the AlwaysNoProxy entries it lacks.
func extendNoProxy(v string) string {
	var out []string
	for e := range strings.SplitSeq(v, ",") {
		if e = strings.TrimSpace(e); e != "" && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	for _, e := range AlwaysNoProxy() {
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return strings.Join(out, ",")
}

// BackendURL is ECS_BACKEND_HOST as a URL for the SDK's endpoint: the
// value, with https:// added when it has no scheme, as the stock agent
// does; "" when it is not set.
func (c Config) BackendURL() string {
	if c.BackendHost == "" || strings.Contains(c.BackendHost, "://") {
		return c.BackendHost
	}
	return "https://" + c.BackendHost
}

// ProxyFunc returns the proxy to use for a request, as
// http.ProxyFromEnvironment does but from c's HTTPSProxy, HTTPProxy and
// NoProxy rather than the process environment; set it as
// http.Transport.Proxy and websocket.Dialer.Proxy. ws and wss URLs are
// treated as http and https. It is built on golang.org/x/net's httpproxy,
// the code net/http itself uses, so NO_PROXY matches exactly as it does
// for Go programs (the stock agent among them): domains and their
// subdomains, ".domain", IPs, CIDRs, host:port and "*"; localhost and
// loopback addresses are never proxied.
func (c Config) ProxyFunc() func(*http.Request) (*url.URL, error) {
	f := (&httpproxy.Config{HTTPProxy: c.HTTPProxy, HTTPSProxy: c.HTTPSProxy, NoProxy: c.NoProxy}).ProxyFunc()
	return func(r *http.Request) (*url.URL, error) {
		u := *r.URL
		switch u.Scheme {
		case "ws":
			u.Scheme = "http"
		case "wss":
			u.Scheme = "https"
		}
		return f(&u)
	}
}

// parseProxyURL reads a proxy value as net/http does: a URL, or HOST:PORT
// taken as http://HOST:PORT.
func parseProxyURL(v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		if u2, err2 := url.Parse("http://" + v); err2 == nil {
			u, err = u2, nil
		}
	}
	if err != nil || u.Host == "" || !slices.Contains([]string{"http", "https", "socks5", "socks5h"}, u.Scheme) ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("want a proxy URL such as http://proxy.example:3128 (schemes http, https, socks5, socks5h) or HOST:PORT")
	}
	if err := checkPort(u.Port(), true); err != nil {
		return nil, fmt.Errorf("want a proxy URL with a port from 0 to 65535")
	}
	return u, nil
}

// redactProxy hides the password of a proxy URL, valid or not; a value
// that does not parse as a URL is hidden whole if it may hold one.
func redactProxy(v string) string {
	raw := v
	if !strings.Contains(v, "://") {
		raw = "http://" + v // HOST:PORT, as net/http reads it
	}
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(v, "@") {
			return "[redacted]"
		}
		return v
	}
	if _, has := u.User.Password(); !has {
		return v
	}
	r := u.Redacted()
	if raw != v {
		r = strings.TrimPrefix(r, "http://")
	}
	return r
}
