package wsclient

import (
	"net/url"
	"strings"
	"testing"
)

func TestEndpointURL(t *testing.T) {
	q := url.Values{"b": {"2"}, "a": {"x/y:z"}}
	const query = "a=x%2Fy%3Az&b=2"
	for in, want := range map[string]string{
		"https://ecs-a-1.us-east-1.amazonaws.com/": "https://ecs-a-1.us-east-1.amazonaws.com/ws?" + query,
		"https://ecs-a-1.us-east-1.amazonaws.com":  "https://ecs-a-1.us-east-1.amazonaws.com/ws?" + query,
		"ecs-a-1.us-east-1.amazonaws.com":          "https://ecs-a-1.us-east-1.amazonaws.com/ws?" + query,
		"wss://x.example/":                         "https://x.example/ws?" + query,
		"ws://127.0.0.1:8080":                      "http://127.0.0.1:8080/ws?" + query,
		"http://127.0.0.1:8080/acs":                "http://127.0.0.1:8080/acs/ws?" + query,
		"https://x.example/p?old=1#frag":           "https://x.example/p/ws?" + query,
	} {
		u, err := EndpointURL("ACS", in, q)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if u.String() != want {
			t.Errorf("%s:\n got %s\nwant %s", in, u, want)
		}
	}
	for _, bad := range []string{"ftp://example.com", "https://", "https://%zz", "http://[::1"} {
		_, err := EndpointURL("TCS", bad, q)
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if !strings.Contains(err.Error(), "TCS endpoint") {
			t.Errorf("%q: error does not name the service: %v", bad, err)
		}
	}
}
