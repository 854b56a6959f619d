package ssmserver

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// fuzzOps are the operations FuzzSSMRequest picks from by index.
var fuzzOps = []string{
	"RegisterManagedInstance", "RequestManagedInstanceRoleToken", "UpdateManagedInstancePublicKey",
	"DeregisterManagedInstance", "CreateActivation", "DescribeActivations", "DeleteActivation",
	"DescribeInstanceInformation", "NoSuchOperation",
}

// FuzzSSMRequest: any body, with any Authorization header, for any
// operation, is answered with a result or an AWS error in the 4xx range,
// never a panic or a 500. The admin calls' signatures are taken as valid
// so that their bodies are reached; the RSA-signed calls are checked for
// real. State carries over between inputs.
func FuzzSSMRequest(f *testing.F) {
	s, err := New(Config{
		DataDir: f.TempDir(), Region: "us-east-1", AccountID: "000000000000", Now: time.Now,
		Log:    slog.New(slog.DiscardHandler),
		Verify: func(*http.Request, []byte) (string, error) { return "arn:aws:iam::000000000000:user/admin", nil },
		Issue: func(string, time.Duration) (string, string, string, time.Time, error) {
			return "ASIAFUZZ", "secret", "token", time.Now().Add(time.Hour), nil
		},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	// Seeds: testdata/fuzz/FuzzSSMRequest.
	f.Fuzz(func(t *testing.T, op uint8, authorization string, body []byte) {
		name := fuzzOps[int(op)%len(fuzzOps)]
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set("X-Amz-Target", "AmazonSSM."+name)
		r.Header.Set("Content-Type", "application/x-amz-json-1.1")
		if authorization != "" {
			r.Header.Set("Authorization", authorization)
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code >= 500 || (w.Code >= 300 && w.Code < 400) {
			t.Errorf("%s %q: status %d: %s", name, body, w.Code, w.Body.String())
		}
	})
}
