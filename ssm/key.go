package ssm

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// keyBits is the size of the instance's RSA key, as the SSM agent makes it.
const keyBits = 2048

func generateKey() (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, keyBits)
	if err != nil {
		return nil, fmt.Errorf("generate RSA-%d key: %w", keyBits, err)
	}
	return k, nil
}

// encodePublicKey gives the form SSM takes: standard base64 of the PKIX
// (SubjectPublicKeyInfo) DER, 392 characters for RSA-2048.
func encodePublicKey(k *rsa.PrivateKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// encodePrivateKey gives the vault's form: standard base64 of PKCS#1 DER.
func encodePrivateKey(k *rsa.PrivateKey) string {
	return base64.StdEncoding.EncodeToString(x509.MarshalPKCS1PrivateKey(k))
}

func decodePrivateKey(s, keyType string) (*rsa.PrivateKey, error) {
	if keyType != "" && keyType != wire.PublicKeyTypeRsa {
		return nil, fmt.Errorf("private key type %q, want %q", keyType, wire.PublicKeyTypeRsa)
	}
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("decode private key: %w", err)
	}
	k, err := x509.ParsePKCS1PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	return k, nil
}
