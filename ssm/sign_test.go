package ssm

import (
	"bytes"
	"crypto/rsa"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

func signedTestRequest(t *testing.T, body string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, testEndpoint, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", wire.ContentType)
	req.Header.Set("X-Amz-Target", wire.TargetRequestManagedInstanceRoleToken)
	req.Header.Set("User-Agent", "ecsd-test")
	s := rsaSigner{instanceID: testInstanceID, region: testRegion, key: loadKey(t, "instance-key.pem")}
	if err := s.sign(req, []byte(body), at); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestSignatureVerifiesIndependently(t *testing.T) {
	key := loadKey(t, "instance-key.pem")
	other := loadKey(t, "rotated-key.pem")
	body := `{"Fingerprint":"` + testFingerprint + `"}`

	req := signedTestRequest(t, body, testStart)
	if _, _, err := verifyRSA(req, []byte(body), &key.PublicKey, testRegion, testInstanceID, testStart); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	if got, want := req.Host, "ssm.eu-west-1.amazonaws.com"; got != want {
		t.Errorf("Host = %q, want %q", got, want)
	}
	if !strings.Contains(req.Header.Get("Authorization"), "SignedHeaders=content-type;host;x-amz-date;x-amz-target,") {
		t.Errorf("signed headers in %q", req.Header.Get("Authorization"))
	}

	tamper := []struct {
		name   string
		change func(r *http.Request)
		pub    *rsa.PublicKey
	}{
		{name: "target changed", change: func(r *http.Request) { r.Header.Set("X-Amz-Target", wire.TargetUpdateManagedInstancePublicKey) }},
		{name: "date changed", change: func(r *http.Request) { r.Header.Set("X-Amz-Date", "20260101T120001Z") }},
		{name: "host changed", change: func(r *http.Request) { r.Host = "ssm.eu-west-2.amazonaws.com" }},
		{name: "other key", pub: &other.PublicKey},
	}
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			r := signedTestRequest(t, body, testStart)
			pub := &key.PublicKey
			if tt.change != nil {
				tt.change(r)
			}
			if tt.pub != nil {
				pub = tt.pub
			}
			if _, _, err := verifyRSA(r, []byte(body), pub, testRegion, testInstanceID, testStart); err == nil {
				t.Error("tampered request verifies")
			}
		})
	}
	t.Run("body changed", func(t *testing.T) {
		r := signedTestRequest(t, body, testStart)
		changed := `{"Fingerprint":"00000000-0000-4000-8000-000000000000"}`
		r.Header.Set("X-Amz-Content-Sha256", hexSHA256([]byte(changed)))
		if _, _, err := verifyRSA(r, []byte(changed), &key.PublicKey, testRegion, testInstanceID, testStart); err == nil {
			t.Error("request with another body verifies")
		}
	})
}

func TestCanonicalHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("Content-Type", "application/x-amz-json-1.1")
	h.Add("X-Multi", "  a   b ")
	h.Add("X-Multi", "c")
	h.Set("User-Agent", "ignored")
	h.Set("Authorization", "ignored")
	signed, block := canonicalHeaders(h, "ssm.eu-west-1.amazonaws.com")
	if want := "content-type;host;x-multi"; signed != want {
		t.Errorf("signed = %q, want %q", signed, want)
	}
	want := "content-type:application/x-amz-json-1.1\nhost:ssm.eu-west-1.amazonaws.com\nx-multi:a b,c\n"
	if block != want {
		t.Errorf("block = %q, want %q", block, want)
	}
}

func TestCanonicalHost(t *testing.T) {
	for in, want := range map[string]string{
		"https://ssm.eu-west-1.amazonaws.com/":     "ssm.eu-west-1.amazonaws.com",
		"https://ssm.eu-west-1.amazonaws.com:443/": "ssm.eu-west-1.amazonaws.com",
		"http://127.0.0.1:80/":                     "127.0.0.1",
		"http://127.0.0.1:8443/":                   "127.0.0.1:8443",
		"https://[::1]:443/":                       "[::1]",
		"http://[::1]:9000/":                       "[::1]:9000",
	} {
		req, _ := http.NewRequest("POST", in, nil)
		if got := canonicalHost(req.URL); got != want {
			t.Errorf("%s: got %q, want %q", in, got, want)
		}
	}
}

func TestEndpoint(t *testing.T) {
	for region, want := range map[string]string{
		"eu-west-1":       "https://ssm.eu-west-1.amazonaws.com/",
		"cn-north-1":      "https://ssm.cn-north-1.amazonaws.com.cn/",
		"us-iso-east-1":   "https://ssm.us-iso-east-1.c2s.ic.gov/",
		"us-isob-east-1":  "https://ssm.us-isob-east-1.sc2s.sgov.gov/",
		"us-isof-south-1": "https://ssm.us-isof-south-1.csp.hci.ic.gov/",
		"eu-isoe-west-1":  "https://ssm.eu-isoe-west-1.cloud.adc-e.uk/",
		"eusc-de-east-1":  "https://ssm.eusc-de-east-1.amazonaws.eu/",
	} {
		if got := Endpoint(region); got != want {
			t.Errorf("Endpoint(%s) = %s, want %s", region, got, want)
		}
	}
}

// TestGoldenRequests pins each call's request, as the fake SSM received it,
// with a fixed key, clock and fingerprint. RSA-PSS signatures are
// randomised, so the signature is verified and shown as <verified>; the
// canonical request and string to sign the verifier rebuilt are pinned
// instead. Run with -update to rewrite.
func TestGoldenRequests(t *testing.T) {
	clk := newFakeClock()
	fake := newFakeSSM(t, clk)
	root := t.TempDir()
	key, rotated := loadKey(t, "instance-key.pem"), loadKey(t, "rotated-key.pem")

	// Registration, with the fingerprint already in the vault.
	v, _ := newVault(root)
	b := []byte(`{"fingerprint":"` + testFingerprint + `","hardwareHash":{},"similarityThreshold":40}`)
	if err := v.store(vaultKeyPrint, b); err != nil {
		t.Fatal(err)
	}
	_, err := Register(t.Context(), RegisterConfig{
		Region: testRegion, ActivationID: testActivationID, ActivationCode: testActivationCode,
		Endpoint: testEndpoint, StateRoot: root, HTTPClient: fake.httpClient(t), Clock: clk,
		UserAgent: "ecsd-test", NewKey: func() (*rsa.PrivateKey, error) { return key, nil },
	})
	if err != nil {
		t.Fatal(err)
	}

	// A token whose answer asks for a new key, then the key update.
	fake.mu.Lock()
	fake.askRotate = true
	fake.mu.Unlock()
	p, err := NewProvider(ProviderConfig{
		StateRoot: root, Endpoint: testEndpoint, HTTPClient: fake.httpClient(t), Clock: clk,
		UserAgent: "ecsd-test", NewKey: func() (*rsa.PrivateKey, error) { return rotated, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Retrieve(t.Context()); err != nil {
		t.Fatal(err)
	}

	for _, g := range []struct{ file, target string }{
		{"register.golden", wire.TargetRegisterManagedInstance},
		{"request-token.golden", wire.TargetRequestManagedInstanceRoleToken},
		{"update-public-key.golden", wire.TargetUpdateManagedInstancePublicKey},
	} {
		recs := fake.recorded(g.target)
		if len(recs) == 0 {
			t.Fatalf("no %s request", g.target)
		}
		checkGolden(t, filepath.Join("testdata", g.file), dumpRequest(recs[0]))
	}
}

func dumpRequest(r recorded) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST / HTTP/1.1\nHost: %s\n", r.host)
	var names []string
	for n := range r.header {
		// Added by Go's transport, not by this package.
		if n != "Accept-Encoding" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		v := strings.Join(r.header.Values(n), ",")
		if n == "Authorization" {
			if i := strings.Index(v, "Signature="); i >= 0 {
				v = v[:i] + "Signature=<verified>"
			}
		}
		fmt.Fprintf(&b, "%s: %s\n", n, v)
	}
	fmt.Fprintf(&b, "\n%s\n", r.body)
	if r.canonical != "" {
		fmt.Fprintf(&b, "\n--- canonical request ---\n%s\n--- string to sign ---\n%s\n", r.canonical, r.stringToSign)
	}
	return b.Bytes()
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
