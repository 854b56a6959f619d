package ssmserver

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"regexp"
)

// activationCodeLength is the length of the codes CreateActivation gives
// out; SSM's are 20 characters.
const activationCodeLength = 20

const codeAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

var (
	activationIDPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	instanceIDPattern   = regexp.MustCompile(`^mi-[0-9a-f]{17}$`)
)

// newActivationID is a random UUID v4, lower case.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

// newActivationCode is 20 characters drawn uniformly from [A-Za-z0-9].
func newActivationCode() string {
	out := make([]byte, 0, activationCodeLength)
	var buf [32]byte
	for len(out) < activationCodeLength {
		rand.Read(buf[:])
		for _, c := range buf {
			// 248 = 4 × 62: bytes above it would favour the first letters.
			if c < 248 && len(out) < activationCodeLength {
				out = append(out, codeAlphabet[int(c)%len(codeAlphabet)])
			}
		}
	}
	return string(out)
}

// newInstanceID is mi- and 17 random hex digits, as SSM's are.
func newInstanceID() string {
	var b [9]byte
	rand.Read(b[:])
	return "mi-" + hex.EncodeToString(b[:])[:17]
}

// encodeNextToken and decodeNextToken wrap the last key of a page.
func encodeNextToken(lastKey string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(lastKey))
}

func decodeNextToken(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) == 0 {
		return "", badRequest(codeInvalidNextToken, "The specified token is not valid.")
	}
	return string(b), nil
}
