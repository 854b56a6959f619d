package ssmserver

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// maxSkew is how far a request's X-Amz-Date may be from the server's clock,
// SigV4's usual five minutes.
const maxSkew = 5 * time.Minute

// rsaAuth is what the Authorization header of an RSA-signed request says:
//
//	AWS4-HMAC-SHA256 Credential=<mi-…>/<yyyymmdd>/<region>/ssm/aws4_request, SignedHeaders=<a;b;…>, Signature=<base64>
type rsaAuth struct {
	instanceID    string
	scope         string // yyyymmdd/region/ssm/aws4_request
	day, region   string
	signedHeaders []string
	signature     []byte
	amzDate       string
	at            time.Time
}

// parseRSAAuth reads the Authorization and X-Amz-Date headers of an
// RSA-signed request; the region must be this server's.
func parseRSAAuth(h http.Header, region string) (rsaAuth, error) {
	auth := h.Get(wire.HeaderAuthorization)
	if auth == "" {
		return rsaAuth{}, badRequest(codeMissingAuthentication, "Missing Authentication Token")
	}
	alg, rest, _ := strings.Cut(auth, " ")
	if alg != wire.SigningAlgorithm {
		return rsaAuth{}, badRequest(codeIncompleteSignature, "Unsupported AWS 'algorithm': %q", alg)
	}
	params := map[string]string{}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return rsaAuth{}, badRequest(codeIncompleteSignature, "Authorization header requires each component to be of the form key=value")
		}
		params[k] = v
	}
	cred, signed, sig := params["Credential"], params["SignedHeaders"], params["Signature"]
	if cred == "" || signed == "" || sig == "" {
		return rsaAuth{}, badRequest(codeIncompleteSignature, "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'")
	}
	parts := strings.Split(cred, "/")
	if len(parts) != 5 || parts[3] != wire.SigningName || parts[4] != wire.ScopeTerminator {
		return rsaAuth{}, badRequest(codeIncompleteSignature, "Credential should be scoped correctly: <instance id>/<date>/<region>/%s/%s", wire.SigningName, wire.ScopeTerminator)
	}
	a := rsaAuth{
		instanceID:    parts[0],
		day:           parts[1],
		region:        parts[2],
		scope:         strings.Join(parts[1:], "/"),
		signedHeaders: strings.Split(signed, ";"),
		amzDate:       h.Get(wire.HeaderDate),
	}
	if a.region != region {
		return rsaAuth{}, badRequest(wire.ErrCodeInvalidSignatureException, "Credential should be scoped to a valid region, not '%s'. ", a.region)
	}
	var err error
	if a.at, err = time.Parse(wire.DateFormat, a.amzDate); err != nil {
		return rsaAuth{}, badRequest(codeIncompleteSignature, "X-Amz-Date %q is not of the form %s", a.amzDate, wire.DateFormat)
	}
	if a.day != a.amzDate[:8] {
		return rsaAuth{}, badRequest(wire.ErrCodeInvalidSignatureException, "Credential should be scoped to a valid date, not '%s'", a.day)
	}
	if !slices.IsSorted(a.signedHeaders) || !slices.Contains(a.signedHeaders, "host") || !slices.Contains(a.signedHeaders, "x-amz-date") {
		return rsaAuth{}, badRequest(wire.ErrCodeInvalidSignatureException, "SignedHeaders must be sorted and include host and x-amz-date")
	}
	if a.signature, err = base64.StdEncoding.DecodeString(sig); err != nil {
		return rsaAuth{}, badRequest(wire.ErrCodeInvalidSignatureException, "The signature is not base64")
	}
	return a, nil
}

// checkSkew refuses a signature dated more than maxSkew from now, with the
// messages SigV4 endpoints give; a client reading the Date header of the
// answer can correct its clock and sign again.
func checkSkew(a rsaAuth, now time.Time) error {
	now = now.UTC()
	f := func(t time.Time) string { return t.Format(wire.DateFormat) }
	switch {
	case a.at.Before(now.Add(-maxSkew)):
		return badRequest(wire.ErrCodeInvalidSignatureException, "Signature expired: %s is now earlier than %s (%s - 5 min.)", a.amzDate, f(now.Add(-maxSkew)), f(now))
	case a.at.After(now.Add(maxSkew)):
		return badRequest(wire.ErrCodeInvalidSignatureException, "Signature not yet current: %s is still later than %s (%s + 5 min.)", a.amzDate, f(now.Add(maxSkew)), f(now))
	}
	return nil
}

// stringToSign rebuilds the SigV4 string to sign of r from the headers its
// Authorization header says were signed.
func stringToSign(r *http.Request, body []byte, a rsaAuth) (string, error) {
	bodyHash := hexSHA256(body)
	if got := r.Header.Get(wire.HeaderContentSHA256); got != "" && got != bodyHash {
		return "", badRequest(wire.ErrCodeInvalidSignatureException, "The provided 'x-amz-content-sha256' header does not match what was computed.")
	}
	var headers strings.Builder
	for _, name := range a.signedHeaders {
		var vs []string
		switch name {
		case "host":
			vs = []string{r.Host}
		case "content-length":
			vs = slices.Clone(r.Header.Values(name))
			if len(vs) == 0 && r.ContentLength >= 0 {
				vs = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		default:
			vs = slices.Clone(r.Header.Values(name))
		}
		if len(vs) == 0 {
			return "", badRequest(wire.ErrCodeInvalidSignatureException, "The signed header %q is not in the request", name)
		}
		for i, v := range vs {
			vs[i] = strings.Join(strings.Fields(v), " ")
		}
		headers.WriteString(name + ":" + strings.Join(vs, ",") + "\n")
	}
	uri := r.URL.EscapedPath()
	if uri == "" {
		uri = "/"
	}
	canonical := strings.Join([]string{r.Method, uri, r.URL.RawQuery, headers.String(), strings.Join(a.signedHeaders, ";"), bodyHash}, "\n")
	return strings.Join([]string{wire.SigningAlgorithm, a.amzDate, a.scope, hexSHA256([]byte(canonical))}, "\n"), nil
}

// verifyRSA checks the RSASSA-PSS signature (SHA-256, 32 bytes of salt) over
// SHA-256 of r's string to sign with pub.
func verifyRSA(r *http.Request, body []byte, a rsaAuth, pub *rsa.PublicKey) error {
	sts, err := stringToSign(r, body, a)
	if err != nil {
		return err
	}
	digest := sha256.Sum256([]byte(sts))
	if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], a.signature, &rsa.PSSOptions{SaltLength: wire.SaltLength}); err != nil {
		return badRequest(wire.ErrCodeInvalidSignatureException, "The request signature we calculated does not match the signature you provided.")
	}
	return nil
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// sameSecret compares a secret with a stored SHA-256 in constant time.
func sameSecret(secret string, sum []byte) bool {
	got := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(got[:], sum) == 1
}
