package ssm

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// rsaSigner signs SSM requests the way managed instances do: a SigV4
// canonical request and string to sign, with the HMAC chain replaced by an
// RSASSA-PSS signature made with the instance's private key.
type rsaSigner struct {
	instanceID string
	region     string
	key        *rsa.PrivateKey
}

// sign sets X-Amz-Date and Authorization on req, then X-Amz-Content-Sha256
// (sent but not signed, as the SSM agent does).
func (s rsaSigner) sign(req *http.Request, body []byte, now time.Time) error {
	t := now.UTC()
	amzDate := t.Format(wire.DateFormat)
	req.Header.Set(wire.HeaderDate, amzDate)
	req.Host = canonicalHost(req.URL)

	payloadHash := hexSHA256(body)
	signed, canonHeaders := canonicalHeaders(req.Header, req.Host)
	scope := strings.Join([]string{t.Format(wire.ShortDateFormat), s.region, wire.SigningName, wire.ScopeTerminator}, "/")
	canonReq := strings.Join([]string{
		req.Method,
		canonicalURI(req.URL),
		req.URL.RawQuery,
		canonHeaders,
		signed,
		payloadHash,
	}, "\n")
	stringToSign := strings.Join([]string{wire.SigningAlgorithm, amzDate, scope, hexSHA256([]byte(canonReq))}, "\n")

	digest := sha256.Sum256([]byte(stringToSign))
	sig, err := rsa.SignPSS(rand.Reader, s.key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: wire.SaltLength})
	if err != nil {
		return err
	}
	req.Header.Set(wire.HeaderAuthorization, wire.SigningAlgorithm+
		" Credential="+s.instanceID+"/"+scope+
		", SignedHeaders="+signed+
		", Signature="+base64.StdEncoding.EncodeToString(sig))
	if req.Header.Get(wire.HeaderContentSHA256) == "" {
		req.Header.Set(wire.HeaderContentSHA256, payloadHash)
	}
	return nil
}

// canonicalHeaders lists host and every header on the request except
// Authorization and User-Agent: names lower-cased and sorted, values trimmed
// with inner runs of spaces collapsed, repeated values joined by commas.
// It returns the signed-headers list and the canonical header block, each
// line ending in a newline.
func canonicalHeaders(h http.Header, host string) (signed, block string) {
	values := map[string][]string{"host": {host}}
	for name, vs := range h {
		n := strings.ToLower(name)
		if n == "authorization" || n == "user-agent" || n == "host" {
			continue
		}
		values[n] = append(values[n], vs...)
	}
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		vs := make([]string, len(values[n]))
		for i, v := range values[n] {
			vs[i] = strings.Join(strings.Fields(v), " ")
		}
		b.WriteString(n + ":" + strings.Join(vs, ",") + "\n")
	}
	return strings.Join(names, ";"), b.String()
}

// canonicalHost is the URL's host without a default port, as SigV4 signs it.
func canonicalHost(u *url.URL) string {
	host, port := u.Hostname(), u.Port()
	if port == "" || (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return u.Host
}

func canonicalURI(u *url.URL) string {
	if p := u.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
