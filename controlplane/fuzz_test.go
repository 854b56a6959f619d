package controlplane

import (
	"context"
	"errors"
	"log/slog"
	"testing"
)

// FuzzECSRequest: any body, for any operation, gets an answer or an
// *apiError (a 400 with the AWS error type), never a panic and never an
// internal error. The control plane's state carries over from one input
// to the next, so later inputs meet clusters, task definitions and tasks
// that earlier ones made.
func FuzzECSRequest(f *testing.F) {
	cp, err := New(Config{DataDir: f.TempDir(), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { cp.Close() })
	// Seeds: testdata/fuzz/FuzzECSRequest; the operation is picked from
	// wireOperations by index.
	f.Fuzz(func(t *testing.T, op uint8, body []byte) {
		name := wireOperations[int(op)%len(wireOperations)].op
		ctx := context.WithValue(context.Background(), principalKey{}, "arn:aws:iam::000000000000:user/admin")
		ctx = context.WithValue(ctx, baseURLKey{}, "http://127.0.0.1:1/")
		_, err := cp.call(ctx, name, body)
		var ae *apiError
		if err != nil && !errors.As(err, &ae) {
			t.Errorf("%s %q: %v is not an API error", name, body, err)
		}
	})
}
