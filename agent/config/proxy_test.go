package config

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestNoProxyAlwaysCoversLocalEndpoints(t *testing.T) {
	always := "169.254.170.2,169.254.169.254,127.0.0.1,localhost,::1"
	for _, tt := range []struct{ in, want string }{
		{"", always},
		{"example.com", "example.com," + always},
		{" example.com , .corp ,, 10.0.0.0/8 ", "example.com,.corp,10.0.0.0/8," + always},
		{"localhost,169.254.170.2", "localhost,169.254.170.2,169.254.169.254,127.0.0.1,::1"},
		{"a,a", "a," + always},
		{"*", "*," + always},
	} {
		env := []string{"AWS_DEFAULT_REGION=us-east-1"}
		if tt.in != "" {
			env = append(env, "NO_PROXY="+tt.in)
		}
		c, _ := load(t, Sources{Env: env})
		if c.NoProxy != tt.want {
			t.Errorf("NO_PROXY=%q: got %q, want %q", tt.in, c.NoProxy, tt.want)
		}
	}
}

func TestProxyFunc(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://from-process-env:1") // must not be used
	t.Setenv("NO_PROXY", "")
	c, _ := load(t, Sources{Env: []string{
		"AWS_DEFAULT_REGION=us-east-1",
		"HTTPS_PROXY=http://user:pw@proxy.corp:3128",
		"HTTP_PROXY=plain.corp:8080",
		"NO_PROXY=.internal,10.0.0.0/8",
	}})
	proxyFor := c.ProxyFunc()
	for _, tt := range []struct{ url, want string }{
		{"https://ecs.us-east-1.amazonaws.com/", "http://user:pw@proxy.corp:3128"},
		{"wss://ecs-a-1.us-east-1.amazonaws.com/ws", "http://user:pw@proxy.corp:3128"},
		{"http://registry.example.com/v2/", "http://plain.corp:8080"},
		{"ws://tcs.example.com/", "http://plain.corp:8080"},
		{"https://acs.internal/", ""},
		{"https://10.1.2.3/", ""},
		{"http://169.254.170.2/v2/credentials/x", ""},
		{"http://169.254.169.254/latest/meta-data", ""},
		{"http://127.0.0.1:51678/v1/metadata", ""},
		{"http://localhost:51679/", ""},
		{"http://[::1]:51678/", ""},
	} {
		u, _ := url.Parse(tt.url)
		got, err := proxyFor(&http.Request{URL: u})
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		gotS := ""
		if got != nil {
			gotS = got.String()
		}
		if gotS != tt.want {
			t.Errorf("%s: proxy %q, want %q", tt.url, gotS, tt.want)
		}
		if u.String() != tt.url {
			t.Errorf("%s: ProxyFunc changed the request URL to %s", tt.url, u)
		}
	}

	// No proxy configured: nothing is proxied, whatever the process has.
	c, _ = load(t, Sources{Env: []string{"AWS_DEFAULT_REGION=us-east-1"}})
	u, _ := url.Parse("https://ecs.us-east-1.amazonaws.com/")
	if got, err := c.ProxyFunc()(&http.Request{URL: u}); got != nil || err != nil {
		t.Errorf("no proxy configured: got %v, %v", got, err)
	}
}

func TestRedactProxy(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"http://proxy:3128", "http://proxy:3128"},
		{"http://user@proxy:3128", "http://user@proxy:3128"},
		{"http://user:secret@proxy:3128", "http://user:xxxxx@proxy:3128"},
		{"https://user:s%40cret@proxy:3128/", "https://user:xxxxx@proxy:3128/"},
		{"user:secret@proxy:3128", "user:xxxxx@proxy:3128"},
		{"http://user:se cret@pro xy", "[redacted]"},
		{"http://pro xy:1", "http://pro xy:1"},
	} {
		if got := redactProxy(tt.in); got != tt.want {
			t.Errorf("redactProxy(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A bad proxy value is reported without its password.
func TestProxyProblemRedacted(t *testing.T) {
	ps := problems(t, Sources{Env: []string{"AWS_DEFAULT_REGION=us-east-1", "HTTPS_PROXY=ftp://user:hunter2@proxy:21"}})
	if len(ps) != 1 || strings.Contains(ps[0].String(), "hunter2") || !strings.Contains(ps[0].String(), "ftp://user:xxxxx@proxy:21") {
		t.Errorf("problems %v", ps)
	}
}

func TestBackendURL(t *testing.T) {
	for in, want := range map[string]string{
		"":                            "",
		"ecs.us-east-1.amazonaws.com": "https://ecs.us-east-1.amazonaws.com",
		"ecs.example:8443":            "https://ecs.example:8443",
		"http://127.0.0.1:8080":       "http://127.0.0.1:8080",
		"https://ecs-fips.us-east-1.amazonaws.com": "https://ecs-fips.us-east-1.amazonaws.com",
	} {
		if got := (Config{BackendHost: in}).BackendURL(); got != want {
			t.Errorf("BackendURL(%q) = %q, want %q", in, got, want)
		}
	}
}
