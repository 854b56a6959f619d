package tcs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/ecsd-project/ecsd/agent/wsclient"
)

// signFrame returns the websocket text message carrying envelope: the
// header block of a SigV4-signed "GET u" whose body is envelope, in HTTP
// wire form ("Name: value\r\n" lines, Host included), an empty line, then
// envelope.
func signFrame(ctx context.Context, creds aws.Credentials, u, region string, envelope []byte, now time.Time) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("build frame request: %w", err)
	}
	sum := sha256.Sum256(envelope)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), wsclient.SigningService, region, now); err != nil {
		return nil, fmt.Errorf("sign frame: %w", err)
	}
	req.Header.Set("Host", req.Host)
	var buf bytes.Buffer
	if err := req.Header.Write(&buf); err != nil {
		return nil, fmt.Errorf("write frame headers: %w", err)
	}
	buf.WriteString("\r\n")
	buf.Write(envelope)
	return buf.Bytes(), nil
}
