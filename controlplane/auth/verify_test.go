package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	adminKey    = "AKIAIOSFODNN7EXAMPLE"
	adminSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	tempKey     = "ASIAEXAMPLETEMPKEY01"
	tempSecret  = "temporary/secret/key"
	tempToken   = "FwoGZXIvYXdzEXAMPLEsessiontoken=="
)

// server answers each request with the principal Verify found, or the
// error type.
func server(t *testing.T, k *Keyring, service string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p, err := k.Verify(r, body, service)
		if err != nil {
			var ae *Error
			if !errors.As(err, &ae) {
				t.Errorf("Verify returned %T %v, want *Error", err, err)
				w.WriteHeader(500)
				return
			}
			w.WriteHeader(ae.StatusCode())
			io.WriteString(w, ae.Type)
			return
		}
		io.WriteString(w, "ok "+p)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newKeyring(now time.Time) *Keyring {
	k := NewKeyring(func() time.Time { return now })
	k.Add(Credential{AccessKeyID: adminKey, SecretAccessKey: adminSecret, Principal: "arn:aws:iam::000000000000:root"})
	k.Add(Credential{AccessKeyID: tempKey, SecretAccessKey: tempSecret, SessionToken: tempToken,
		Principal: "arn:aws:iam::000000000000:role/app", Expires: now.Add(time.Hour)})
	return k
}

type signing struct {
	creds   aws.Credentials
	service string
	region  string
	at      time.Time
}

func send(t *testing.T, req *http.Request, body []byte, s signing, after func(*http.Request)) string {
	t.Helper()
	h := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), s.creds, req, hex.EncodeToString(h[:]), s.service, s.region, s.at); err != nil {
		t.Fatal(err)
	}
	if after != nil {
		after(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return string(out)
}

func post(t *testing.T, url string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters")
	return req
}

func TestVerify(t *testing.T) {
	now := time.Now().UTC()
	k := newKeyring(now)
	srv := server(t, k, "ecs")
	admin := aws.Credentials{AccessKeyID: adminKey, SecretAccessKey: adminSecret}
	temp := aws.Credentials{AccessKeyID: tempKey, SecretAccessKey: tempSecret, SessionToken: tempToken}
	body := []byte(`{"maxResults":10}`)

	for _, tc := range []struct {
		name  string
		s     signing
		body  []byte
		after func(*http.Request)
		want  string
	}{
		{name: "admin", s: signing{admin, "ecs", "us-east-1", now}, want: "ok arn:aws:iam::000000000000:root"},
		{name: "other region", s: signing{admin, "ecs", "eu-west-1", now}, want: "ok arn:aws:iam::000000000000:root"},
		{name: "temporary", s: signing{temp, "ecs", "us-east-1", now}, want: "ok arn:aws:iam::000000000000:role/app"},
		{name: "unsigned extra header", s: signing{admin, "ecs", "us-east-1", now},
			after: func(r *http.Request) { r.Header.Set("X-Extra", "1") }, want: "ok arn:aws:iam::000000000000:root"},
		{name: "wrong secret", s: signing{aws.Credentials{AccessKeyID: adminKey, SecretAccessKey: "nope"}, "ecs", "us-east-1", now},
			want: "InvalidSignatureException"},
		{name: "unknown key", s: signing{aws.Credentials{AccessKeyID: "AKIAUNKNOWN", SecretAccessKey: adminSecret}, "ecs", "us-east-1", now},
			want: "UnrecognizedClientException"},
		{name: "token missing", s: signing{aws.Credentials{AccessKeyID: tempKey, SecretAccessKey: tempSecret}, "ecs", "us-east-1", now},
			want: "UnrecognizedClientException"},
		{name: "token wrong", s: signing{aws.Credentials{AccessKeyID: tempKey, SecretAccessKey: tempSecret, SessionToken: "x"}, "ecs", "us-east-1", now},
			want: "UnrecognizedClientException"},
		{name: "wrong service", s: signing{admin, "ssm", "us-east-1", now}, want: "InvalidSignatureException"},
		{name: "too old", s: signing{admin, "ecs", "us-east-1", now.Add(-16 * time.Minute)}, want: "InvalidSignatureException"},
		{name: "too new", s: signing{admin, "ecs", "us-east-1", now.Add(16 * time.Minute)}, want: "InvalidSignatureException"},
		{name: "within skew", s: signing{admin, "ecs", "us-east-1", now.Add(-14 * time.Minute)}, want: "ok arn:aws:iam::000000000000:root"},
		{name: "body changed", s: signing{admin, "ecs", "us-east-1", now}, after: func(r *http.Request) {
			b := []byte(`{"maxResults":11}`)
			r.Body = io.NopCloser(bytes.NewReader(b))
		}, want: "InvalidSignatureException"},
		{name: "signed header changed", s: signing{admin, "ecs", "us-east-1", now},
			after: func(r *http.Request) {
				r.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DeleteCluster")
			},
			want: "InvalidSignatureException"},
		{name: "date changed", s: signing{admin, "ecs", "us-east-1", now},
			after: func(r *http.Request) { r.Header.Set("X-Amz-Date", now.Add(time.Second).Format(dateFormat)) },
			want:  "InvalidSignatureException"},
		{name: "no date", s: signing{admin, "ecs", "us-east-1", now},
			after: func(r *http.Request) { r.Header.Del("X-Amz-Date") }, want: "IncompleteSignatureException"},
		{name: "unsigned", s: signing{admin, "ecs", "us-east-1", now},
			after: func(r *http.Request) { r.Header.Del("Authorization") }, want: "MissingAuthenticationTokenException"},
		{name: "no signature", s: signing{admin, "ecs", "us-east-1", now}, after: func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
		}, want: "IncompleteSignatureException"},
		{name: "other algorithm", s: signing{admin, "ecs", "us-east-1", now}, after: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1))
		}, want: "IncompleteSignatureException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := body
			if tc.body != nil {
				b = tc.body
			}
			if got := send(t, post(t, srv.URL, b), b, tc.s, tc.after); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestVerifyExpired(t *testing.T) {
	now := time.Now().UTC()
	clock := now
	k := NewKeyring(func() time.Time { return clock })
	k.Add(Credential{AccessKeyID: tempKey, SecretAccessKey: tempSecret, SessionToken: tempToken, Expires: now.Add(time.Hour)})
	clock = now.Add(2 * time.Hour) // the temporary key expired an hour ago
	srv := server(t, k, "ecs")
	temp := aws.Credentials{AccessKeyID: tempKey, SecretAccessKey: tempSecret, SessionToken: tempToken}
	got := send(t, post(t, srv.URL, nil), nil, signing{temp, "ecs", "us-east-1", now.Add(2 * time.Hour)}, nil)
	if got != "ExpiredTokenException" {
		t.Errorf("got %q", got)
	}
	if n := k.Prune(); n != 1 {
		t.Errorf("Prune removed %d, want 1", n)
	}
	if got := send(t, post(t, srv.URL, nil), nil, signing{temp, "ecs", "us-east-1", now.Add(2 * time.Hour)}, nil); got != "UnrecognizedClientException" {
		t.Errorf("after prune: %q", got)
	}
}

func TestVerifyRemove(t *testing.T) {
	now := time.Now().UTC()
	k := newKeyring(now)
	srv := server(t, k, "ecs")
	admin := aws.Credentials{AccessKeyID: adminKey, SecretAccessKey: adminSecret}
	k.Remove(adminKey)
	if got := send(t, post(t, srv.URL, nil), nil, signing{admin, "ecs", "us-east-1", now}, nil); got != "UnrecognizedClientException" {
		t.Errorf("got %q", got)
	}
}

// A websocket handshake is a GET with a query, signed with an empty payload
// hash before the websocket library adds its own headers, as the ECS agent
// (and ecsd) sign the ACS and TCS connections.
func TestVerifyWebsocketHandshake(t *testing.T) {
	now := time.Now().UTC()
	k := newKeyring(now)
	srv := server(t, k, "ecs")
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/ws?clusterArn=default&containerInstanceArn=arn%3Aaws%3Aecs%3Aus-east-1%3A000000000000%3Acontainer-instance%2Fdefault%2Fabc&sendCredentials=true&seqNum=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	temp := aws.Credentials{AccessKeyID: tempKey, SecretAccessKey: tempSecret, SessionToken: tempToken}
	got := send(t, req, nil, signing{temp, "ecs", "us-east-1", now}, func(r *http.Request) {
		r.Header.Set("Connection", "Upgrade")
		r.Header.Set("Upgrade", "websocket")
		r.Header.Set("Sec-WebSocket-Version", "13")
		r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	})
	if got != "ok arn:aws:iam::000000000000:role/app" {
		t.Errorf("got %q", got)
	}

	// A query parameter changed after signing breaks the signature.
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/ws?clusterArn=default&seqNum=1", nil)
	got = send(t, req, nil, signing{temp, "ecs", "us-east-1", now}, func(r *http.Request) { r.URL.RawQuery = "clusterArn=other&seqNum=1" })
	if got != "InvalidSignatureException" {
		t.Errorf("changed query: %q", got)
	}
}

func TestErrorIs(t *testing.T) {
	err := fail(ErrInvalidSignature, msgSignatureMismatch)
	if !errors.Is(err, ErrInvalidSignature) || errors.Is(err, ErrUnrecognizedClient) {
		t.Errorf("errors.Is does not match kinds: %v", err)
	}
	if !strings.HasPrefix(err.Error(), "InvalidSignatureException: The request signature we calculated does not match") {
		t.Errorf("message: %v", err)
	}
}

func TestCredentialLogValueRedacts(t *testing.T) {
	c := Credential{AccessKeyID: "AKIAX", SecretAccessKey: "s3cr3t", SessionToken: "t0k3n"}
	v := c.LogValue().String()
	if strings.Contains(v, "s3cr3t") || strings.Contains(v, "t0k3n") || !strings.Contains(v, "AKIAX") {
		t.Errorf("LogValue: %s", v)
	}
}

func TestErrorCode(t *testing.T) {
	var apiErr interface {
		ErrorCode() string
		ErrorMessage() string
		StatusCode() int
	} = fail(ErrUnrecognizedClient, msgUnrecognized)
	if apiErr.ErrorCode() != "UnrecognizedClientException" || apiErr.ErrorMessage() != msgUnrecognized || apiErr.StatusCode() != 403 {
		t.Errorf("%s %s %d", apiErr.ErrorCode(), apiErr.ErrorMessage(), apiErr.StatusCode())
	}
	if fail(ErrIncompleteSignature, "x").StatusCode() != 400 {
		t.Error("IncompleteSignatureException is not 400")
	}
}
