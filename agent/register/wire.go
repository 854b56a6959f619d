package register

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// The ECS agent's own API model has request members the public one lacks:
// RegisterContainerInstance's clientToken (an idempotency token, one per
// call and kept across the SDK's retries of that call) and
// DiscoverPollEndpoint's zoneId (always sent, empty unless asking for the
// system-logs endpoint). The public SDK serialises neither, so these
// options add them to the serialised JSON body, before signing.

// withClientToken adds a fresh clientToken to one RegisterContainerInstance
// call.
func withClientToken() func(*ecs.Options) {
	return withBodyMembers(map[string]any{"clientToken": newUUID()})
}

// withZoneID adds the empty zoneId to a DiscoverPollEndpoint call.
func withZoneID() func(*ecs.Options) {
	return withBodyMembers(map[string]any{"zoneId": ""})
}

// withBodyMembers adds top-level members to a JSON 1.1 request body. The
// Build step runs once per call; retries happen later, in Finalize, so
// every attempt carries the same members.
func withBodyMembers(members map[string]any) func(*ecs.Options) {
	mw := middleware.BuildMiddlewareFunc("ecsd.BodyMembers", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
		req, ok := in.Request.(*smithyhttp.Request)
		if !ok {
			return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("unexpected request type %T", in.Request)
		}
		body := map[string]json.RawMessage{}
		if s := req.GetStream(); s != nil {
			b, err := io.ReadAll(s)
			if err != nil {
				return middleware.BuildOutput{}, middleware.Metadata{}, err
			}
			if len(bytes.TrimSpace(b)) > 0 {
				if err := json.Unmarshal(b, &body); err != nil {
					return middleware.BuildOutput{}, middleware.Metadata{}, fmt.Errorf("request body: %w", err)
				}
			}
		}
		for k, v := range members {
			raw, err := json.Marshal(v)
			if err != nil {
				return middleware.BuildOutput{}, middleware.Metadata{}, err
			}
			body[k] = raw
		}
		b, err := json.Marshal(body)
		if err != nil {
			return middleware.BuildOutput{}, middleware.Metadata{}, err
		}
		r, err := req.SetStream(bytes.NewReader(b))
		if err != nil {
			return middleware.BuildOutput{}, middleware.Metadata{}, err
		}
		r.ContentLength = int64(len(b))
		in.Request = r
		return next.HandleBuild(ctx, in)
	})
	return func(o *ecs.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Build.Add(mw, middleware.Before)
		})
	}
}

// newUUID is a random (version 4) UUID, the form the ECS agent's tokens
// take.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
