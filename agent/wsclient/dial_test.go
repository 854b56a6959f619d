package wsclient

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/gorilla/websocket"
)

const testRegion = "us-east-1"

// testCreds sign the handshakes; signedServer checks with them.
var testCreds = aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	SessionToken: "session-token", Source: "test"}

// signedServer is an httptest websocket server that checks each
// handshake's SigV4 signature (service ecs, empty body) and echoes every
// text message back.
type signedServer struct {
	hs *httptest.Server

	mu     sync.Mutex
	errs   []error
	authz  []string
	closed bool
	// served counts the open websockets; Add is under mu, never after
	// closed, so it does not race with Wait.
	served sync.WaitGroup
}

func newSignedServer(t *testing.T, tls bool) *signedServer {
	t.Helper()
	s := &signedServer{}
	up := websocket.Upgrader{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := verifyHandshake(r); err != nil {
			s.mu.Lock()
			s.errs = append(s.errs, err)
			s.mu.Unlock()
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"AccessDeniedException":"` + err.Error() + `"}`))
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		s.authz = append(s.authz, r.Header.Get("Authorization"))
		s.served.Add(1)
		s.mu.Unlock()
		defer s.served.Done()
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			typ, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if err := ws.WriteMessage(typ, data); err != nil {
				return
			}
		}
	})
	s.hs = httptest.NewUnstartedServer(h)
	// The refused certificate of TestDialFailures is expected.
	s.hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		s.hs.StartTLS()
	} else {
		s.hs.Start()
	}
	t.Cleanup(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.hs.CloseClientConnections()
		s.hs.Close()
		s.served.Wait()
	})
	return s
}

// verifyHandshake recomputes the signature of r over its URL and headers
// with testCreds and compares it with r's Authorization header.
func verifyHandshake(r *http.Request) error {
	authz := r.Header.Get("Authorization")
	date := r.Header.Get("X-Amz-Date")
	if authz == "" || date == "" {
		return errors.New("unsigned handshake")
	}
	if !strings.HasPrefix(authz, "AWS4-HMAC-SHA256 Credential="+testCreds.AccessKeyID+"/") ||
		!strings.Contains(authz, "/"+testRegion+"/ecs/aws4_request") {
		return errors.New("credential scope is not " + testRegion + "/ecs: " + authz)
	}
	if got := r.Header.Get("X-Amz-Security-Token"); got != testCreds.SessionToken {
		return errors.New("session token " + got)
	}
	at, err := time.Parse("20060102T150405Z", date)
	if err != nil {
		return err
	}
	_, signedList, _ := strings.Cut(authz, "SignedHeaders=")
	signedList, _, _ = strings.Cut(signedList, ",")
	u := *r.URL
	u.Scheme, u.Host = "https", r.Host
	again, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	for _, h := range strings.Split(signedList, ";") {
		if h != "host" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), testCreds, again, EmptyPayloadHash, "ecs", testRegion, at); err != nil {
		return err
	}
	if want := again.Header.Get("Authorization"); want != authz {
		return errors.New("signature mismatch")
	}
	return nil
}

func testDialer(s *signedServer, creds aws.Credentials) *Dialer {
	return &Dialer{
		Service: "ACS", Region: testRegion,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil }),
		Settings:    Settings{HandshakeTimeout: 10 * time.Second, InsecureSkipVerify: true},
		Now:         time.Now,
	}
}

func TestDialSignsTheHandshake(t *testing.T) {
	for _, tls := range []bool{false, true} {
		srv := newSignedServer(t, tls)
		u, err := EndpointURL("ACS", srv.hs.URL, url.Values{"clusterArn": {"default"}, "seqNum": {"1"}})
		if err != nil {
			t.Fatal(err)
		}
		ws, err := testDialer(srv, testCreds).Dial(t.Context(), u)
		if err != nil {
			t.Fatalf("tls %v: %v (server saw %v)", tls, err, srv.errs)
		}
		c := NewConn(ws, time.Second)
		if err := c.Write("Ping", []byte(`{"type":"Ping","message":{}}`)); err != nil {
			t.Fatal(err)
		}
		typ, data, err := c.Read(5 * time.Second)
		if err != nil || typ != websocket.TextMessage || string(data) != `{"type":"Ping","message":{}}` {
			t.Fatalf("echo: %d %q %v", typ, data, err)
		}
		c.Close(websocket.CloseNormalClosure, "")
		srv.mu.Lock()
		n, errs := len(srv.authz), srv.errs
		srv.mu.Unlock()
		if n != 1 || len(errs) != 0 {
			t.Errorf("tls %v: %d signed handshakes, errors %v", tls, n, errs)
		}
	}
}

func TestDialRefusedComesBackWithItsBody(t *testing.T) {
	srv := newSignedServer(t, true)
	u, err := EndpointURL("TCS", srv.hs.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := testCreds
	bad.SecretAccessKey = "not-the-secret"
	d := testDialer(srv, bad)
	d.Service = "TCS"
	_, err = d.Dial(t.Context(), u)
	var refused *RefusedError
	if !errors.As(err, &refused) {
		t.Fatalf("a wrong key: %v, want a *RefusedError", err)
	}
	if refused.StatusCode != http.StatusForbidden || refused.Status != "403 Forbidden" || refused.Host != u.Host {
		t.Errorf("refusal: %+v", refused)
	}
	if !errors.Is(err, websocket.ErrBadHandshake) {
		t.Errorf("%v does not wrap websocket.ErrBadHandshake", err)
	}
	if typ, msg, ok := DecodeRefusal(refused.Body); !ok || typ != "AccessDeniedException" || msg != "signature mismatch" {
		t.Errorf("body %q decodes as %q %q %v", refused.Body, typ, msg, ok)
	}
	if want := "TCS handshake with " + u.Host + ": 403 Forbidden: websocket: bad handshake"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if strings.Contains(err.Error(), bad.SecretAccessKey) {
		t.Error("the error shows the secret key")
	}
}

func TestDialFailures(t *testing.T) {
	srv := newSignedServer(t, true)
	u, err := EndpointURL("ACS", srv.hs.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Certificates are verified unless the operator turned that off.
	d := testDialer(srv, testCreds)
	d.Settings.InsecureSkipVerify = false
	if _, err := d.Dial(t.Context(), u); err == nil || !strings.Contains(err.Error(), "dial ACS at "+u.Host) {
		t.Errorf("unverified certificate: %v", err)
	}
	// No credentials, no handshake.
	d = testDialer(srv, testCreds)
	d.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("no role")
	})
	if _, err := d.Dial(t.Context(), u); err == nil || !strings.Contains(err.Error(), "retrieve credentials to sign the ACS handshake: no role") {
		t.Errorf("credentials failure: %v", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.authz) != 0 {
		t.Errorf("%d handshakes got through", len(srv.authz))
	}
}
