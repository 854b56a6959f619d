package ssm

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// FuzzParseResponse feeds arbitrary answers to the response parser: it must
// not panic, must turn every non-2xx answer into an *APIError with a code,
// and whatever it accepts must encode again. Seeds: testdata/fuzz/FuzzParseResponse.
func FuzzParseResponse(f *testing.F) {
	f.Add(200, []byte(`{"InstanceId":"mi-0123456789abcdef0"}`))
	f.Add(400, []byte(`{"__type":"com.amazonaws.ssm#InvalidActivation","message":"nope"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		outs := []any{
			&wire.RegisterManagedInstanceOutput{},
			&wire.RequestManagedInstanceRoleTokenOutput{},
			nil,
		}
		for _, out := range outs {
			err := parseResponse(status, http.Header{}, body, out)
			if status >= 200 && status < 300 {
				if err == nil && out != nil {
					if _, merr := json.Marshal(out); merr != nil {
						t.Fatalf("accepted %q but cannot encode it: %v", body, merr)
					}
				}
				continue
			}
			var e *APIError
			if !errors.As(err, &e) || e.Code == "" || e.StatusCode != status {
				t.Fatalf("status %d body %q: err %#v", status, body, err)
			}
			_ = e.Error()
		}
	})
}
