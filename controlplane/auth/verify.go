package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// MaxSkew is how far a request's date may be from the keyring's clock.
const MaxSkew = 15 * time.Minute

const (
	algorithm       = "AWS4-HMAC-SHA256"
	scopeTerminator = "aws4_request"
	dateFormat      = "20060102T150405Z"
	shortDateFormat = "20060102"

	headerAuthorization = "Authorization"
	headerDate          = "X-Amz-Date"
	headerSecurityToken = "X-Amz-Security-Token"
	headerContentSHA256 = "X-Amz-Content-Sha256"
)

// signature is the parsed Authorization header.
type signature struct {
	accessKeyID   string
	scopeDate     string
	region        string
	service       string
	signedHeaders []string
	signature     string
}

// Verify checks the SigV4 signature of r, whose body (already read, empty
// for a GET such as a websocket handshake) is body, for the signing name
// service. It returns the principal of the credential that signed it, or an
// *Error.
func (k *Keyring) Verify(r *http.Request, body []byte, service string) (string, error) {
	authz := r.Header.Get(headerAuthorization)
	if authz == "" {
		return "", fail(ErrMissingAuthenticationToken, msgMissingToken)
	}
	sig, err := parseAuthorization(authz)
	if err != nil {
		return "", err
	}
	dateValue := r.Header.Get(headerDate)
	if dateValue == "" {
		return "", fail(ErrIncompleteSignature, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization="+authz)
	}
	signedAt, err := time.Parse(dateFormat, dateValue)
	if err != nil {
		return "", fail(ErrIncompleteSignature, fmt.Sprintf("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", dateValue))
	}
	if sig.service != service {
		return "", fail(ErrInvalidSignature, fmt.Sprintf("Credential should be scoped to correct service: '%s'. ", service))
	}
	if sig.scopeDate != signedAt.Format(shortDateFormat) {
		return "", fail(ErrInvalidSignature, fmt.Sprintf("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			sig.scopeDate, signedAt.Format(shortDateFormat), dateValue))
	}
	if !slices.Contains(sig.signedHeaders, "host") {
		return "", fail(ErrIncompleteSignature, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
	}
	now := k.now().UTC()
	switch {
	case signedAt.Before(now.Add(-MaxSkew)):
		return "", fail(ErrInvalidSignature, fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 15 min.)",
			dateValue, now.Add(-MaxSkew).Format(dateFormat), now.Format(dateFormat)))
	case signedAt.After(now.Add(MaxSkew)):
		return "", fail(ErrInvalidSignature, fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + 15 min.)",
			dateValue, now.Add(MaxSkew).Format(dateFormat), now.Format(dateFormat)))
	}

	cred, ok := k.Lookup(sig.accessKeyID)
	if !ok {
		return "", fail(ErrUnrecognizedClient, msgUnrecognized)
	}
	if !cred.Expires.IsZero() && now.After(cred.Expires) {
		return "", fail(ErrExpiredToken, msgExpired)
	}
	token := r.Header.Get(headerSecurityToken)
	if subtle.ConstantTimeCompare([]byte(token), []byte(cred.SessionToken)) != 1 {
		return "", fail(ErrUnrecognizedClient, msgUnrecognized)
	}

	payloadHash := sha256.Sum256(body)
	hash := hex.EncodeToString(payloadHash[:])
	if h := r.Header.Get(headerContentSHA256); h != "" && h != hash {
		return "", fail(ErrInvalidSignature, msgSignatureMismatch)
	}

	want, err := resign(r, sig, cred, hash, signedAt)
	if err != nil {
		return "", err
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(sig.signature)) != 1 {
		return "", fail(ErrInvalidSignature, msgSignatureMismatch)
	}
	return cred.Principal, nil
}

// resign signs a copy of r that carries only the headers r's signature
// names, the way the client did, and returns the signature.
func resign(r *http.Request, sig signature, cred Credential, payloadHash string, signedAt time.Time) (string, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := &url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	req := &http.Request{Method: r.Method, URL: u, Host: r.Host, Header: http.Header{}}
	withToken := false
	for _, name := range sig.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			req.ContentLength = r.ContentLength
		case "x-amz-security-token":
			withToken = true
		default:
			req.Header[http.CanonicalHeaderKey(name)] = r.Header.Values(name)
		}
	}
	creds := aws.Credentials{AccessKeyID: cred.AccessKeyID, SecretAccessKey: cred.SecretAccessKey}
	if withToken {
		creds.SessionToken = cred.SessionToken
	}
	err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, sig.service, sig.region, signedAt,
		func(o *v4.SignerOptions) { o.DisableSessionToken = !withToken })
	if err != nil {
		return "", fmt.Errorf("re-sign request: %w", err)
	}
	resigned, err := parseAuthorization(req.Header.Get(headerAuthorization))
	if err != nil {
		return "", fmt.Errorf("re-sign request: %w", err)
	}
	return resigned.signature, nil
}

// parseAuthorization parses
// "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature=hex".
func parseAuthorization(h string) (signature, error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if alg != algorithm {
		return signature{}, fail(ErrIncompleteSignature, fmt.Sprintf("Unsupported AWS 'algorithm': '%s'.", alg))
	}
	params := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok {
			params[k] = v
		}
	}
	var missing []string
	for _, p := range []string{"Credential", "Signature", "SignedHeaders"} {
		if params[p] == "" {
			missing = append(missing, fmt.Sprintf("Authorization header requires '%s' parameter.", p))
		}
	}
	if len(missing) > 0 {
		return signature{}, fail(ErrIncompleteSignature, strings.Join(missing, " ")+" Authorization="+h)
	}
	scope := strings.Split(params["Credential"], "/")
	if len(scope) != 5 {
		return signature{}, fail(ErrIncompleteSignature, fmt.Sprintf(
			"Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", params["Credential"]))
	}
	if scope[4] != scopeTerminator {
		return signature{}, fail(ErrIncompleteSignature, fmt.Sprintf("Credential should be scoped with a valid terminator: 'aws4_request', not '%s'.", scope[4]))
	}
	if scope[0] == "" || scope[2] == "" {
		return signature{}, fail(ErrIncompleteSignature, fmt.Sprintf("Credential should be scoped to a valid region, not '%s'. ", scope[2]))
	}
	return signature{
		accessKeyID:   scope[0],
		scopeDate:     scope[1],
		region:        scope[2],
		service:       scope[3],
		signedHeaders: strings.Split(strings.ToLower(params["SignedHeaders"]), ";"),
		signature:     params["Signature"],
	}, nil
}
