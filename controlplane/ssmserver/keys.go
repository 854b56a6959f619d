package ssmserver

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// Bounds of the RSA keys instances may register: SSM's model asks for at
// least 392 base64 characters, an RSA-2048 key.
const (
	minKeyBits = 2048
	maxKeyBits = 8192
)

// parsePublicKey checks a PublicKey/PublicKeyType pair from a request and
// returns the key and its DER encoding; an InvalidPublicKey answer if it is
// not a usable RSA key.
func parsePublicKey(b64, keyType string) (*rsa.PublicKey, []byte, error) {
	if keyType != wire.PublicKeyTypeRsa {
		return nil, nil, badRequest(wire.ErrCodeInvalidPublicKey, "PublicKeyType %q is not supported; use %q", keyType, wire.PublicKeyTypeRsa)
	}
	der, err := decodePublicKeyDER(b64)
	if err != nil {
		return nil, nil, badRequest(wire.ErrCodeInvalidPublicKey, "The public key is not valid: %v", err)
	}
	pub, err := rsaKey(der)
	if err != nil {
		return nil, nil, badRequest(wire.ErrCodeInvalidPublicKey, "The public key is not valid: %v", err)
	}
	if n := pub.N.BitLen(); n < minKeyBits || n > maxKeyBits {
		return nil, nil, badRequest(wire.ErrCodeInvalidPublicKey, "The public key has %d bits; it must have %d to %d", n, minKeyBits, maxKeyBits)
	}
	return pub, der, nil
}

func decodePublicKeyDER(b64 string) ([]byte, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("not standard base64: %w", err)
	}
	return der, nil
}

// rsaKey parses a PKIX (SubjectPublicKeyInfo) DER RSA public key.
func rsaKey(der []byte) (*rsa.PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, errors.New("not an RSA key")
	}
	return pub, nil
}
