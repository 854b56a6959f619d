package ssm

import (
	"log/slog"
	"time"
)

// Protocol constants: AWS JSON 1.1 with the service target prefix AmazonSSM.
const (
	ContentType  = "application/x-amz-json-1.1"
	TargetPrefix = "AmazonSSM"
	SigningName  = "ssm"

	TargetRegisterManagedInstance         = "AmazonSSM.RegisterManagedInstance"
	TargetRequestManagedInstanceRoleToken = "AmazonSSM.RequestManagedInstanceRoleToken"
	TargetUpdateManagedInstancePublicKey  = "AmazonSSM.UpdateManagedInstancePublicKey"

	// PublicKeyTypeRsa is the only value of the PublicKeyType enum.
	PublicKeyTypeRsa = "Rsa"
)

// Header names used by the calls.
const (
	HeaderTarget        = "X-Amz-Target"
	HeaderContentType   = "Content-Type"
	HeaderDate          = "X-Amz-Date"
	HeaderContentSHA256 = "X-Amz-Content-Sha256"
	HeaderAuthorization = "Authorization"
	HeaderErrorType     = "X-Amzn-Errortype"
)

// Facts of the RSA signing scheme used by RequestManagedInstanceRoleToken and
// UpdateManagedInstancePublicKey: SigV4's canonical request and string to sign,
// with the HMAC chain replaced by an RSASSA-PSS (SHA-256, SaltLength bytes of
// salt) signature over SHA-256(string to sign), standard base64. The
// Authorization header keeps the SigV4 algorithm label and carries the managed
// instance id as the access key id:
//
//	Authorization: AWS4-HMAC-SHA256 Credential=mi-…/20260101/eu-west-1/ssm/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=<base64>
const (
	SigningAlgorithm = "AWS4-HMAC-SHA256"
	ScopeTerminator  = "aws4_request"
	DateFormat       = "20060102T150405Z" // X-Amz-Date
	ShortDateFormat  = "20060102"         // credential scope
	SaltLength       = 32
)

// Error codes, as the JSON 1.1 error body's __type (after any "namespace#"
// prefix is stripped) spells them.
const (
	// RegisterManagedInstance.
	ErrCodeInvalidActivation         = "InvalidActivation"
	ErrCodeActivationExpired         = "ActivationExpired"
	ErrCodeRegistrationLimitExceeded = "RegistrationLimitExceeded"
	ErrCodeInstanceAlreadyRegistered = "InstanceAlreadyRegistered"
	ErrCodeInvalidPublicKey          = "InvalidPublicKey"
	ErrCodeTooManyUpdates            = "TooManyUpdates"
	ErrCodeInternalServerError       = "InternalServerError"

	// RequestManagedInstanceRoleToken (the last two are unmodelled but seen).
	ErrCodeMachineFingerprintDoesNotMatch = "MachineFingerprintDoesNotMatch"
	ErrCodeInvalidInstanceId              = "InvalidInstanceId"
	ErrCodeAccessDeniedException          = "AccessDeniedException"
	ErrCodeInvalidSignatureException      = "InvalidSignatureException"

	// UpdateManagedInstancePublicKey.
	ErrCodePublicKeyAlreadyRegistered = "PublicKeyAlreadyRegistered"
)

// Secret is a string that travels on the wire as a plain JSON string but
// prints and logs as [redacted].
type Secret string

const redacted = "[redacted]"

func (Secret) String() string       { return redacted }
func (Secret) GoString() string     { return `"` + redacted + `"` }
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// RegisterManagedInstanceInput is sent unsigned: the activation code is the
// only proof. PublicKey is base64 (standard, padded) of the PKIX DER public
// key; Fingerprint is a UUID v4 the host keeps for good.
type RegisterManagedInstanceInput struct {
	ActivationCode Secret `json:"ActivationCode"`
	ActivationId   string `json:"ActivationId"`
	PublicKey      string `json:"PublicKey"`
	PublicKeyType  string `json:"PublicKeyType"`
	Fingerprint    string `json:"Fingerprint"`
}

// LogValue leaves out the activation code.
func (in RegisterManagedInstanceInput) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("ActivationId", in.ActivationId),
		slog.String("ActivationCode", redacted),
		slog.String("PublicKeyType", in.PublicKeyType),
		slog.String("Fingerprint", in.Fingerprint),
	)
}

// RegisterManagedInstanceOutput carries the new managed instance id, mi-…
type RegisterManagedInstanceOutput struct {
	InstanceId string `json:"InstanceId"`
}

// RequestManagedInstanceRoleTokenInput is RSA-signed; the instance id travels
// in the Authorization header, not in the body.
type RequestManagedInstanceRoleTokenInput struct {
	Fingerprint string `json:"Fingerprint"`
}

// RequestManagedInstanceRoleTokenOutput holds the managed instance role's
// temporary credentials. UpdateKeyPair asks the client to rotate its RSA key.
type RequestManagedInstanceRoleTokenOutput struct {
	AccessKeyId         string    `json:"AccessKeyId"`
	SecretAccessKey     Secret    `json:"SecretAccessKey"`
	SessionToken        Secret    `json:"SessionToken"`
	TokenExpirationDate Timestamp `json:"TokenExpirationDate"`
	UpdateKeyPair       bool      `json:"UpdateKeyPair"`
}

// LogValue leaves out the secret key and session token.
func (out RequestManagedInstanceRoleTokenOutput) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("AccessKeyId", out.AccessKeyId),
		slog.String("SecretAccessKey", redacted),
		slog.String("SessionToken", redacted),
		slog.Time("TokenExpirationDate", out.TokenExpirationDate.Time),
		slog.Bool("UpdateKeyPair", out.UpdateKeyPair),
	)
}

// UpdateManagedInstancePublicKeyInput is RSA-signed with the current key and
// names the key that replaces it.
type UpdateManagedInstancePublicKeyInput struct {
	NewPublicKey     string `json:"NewPublicKey"`
	NewPublicKeyType string `json:"NewPublicKeyType"`
}

// UpdateManagedInstancePublicKeyOutput is empty; clients ignore the body.
type UpdateManagedInstancePublicKeyOutput struct{}

// ErrorResponse is the AWS JSON 1.1 error body. Type may carry a
// "namespace#" prefix, which readers strip; readers also accept "code" for
// the type and any capitalisation of "message". The X-Amzn-Errortype header,
// when present, wins over the body.
type ErrorResponse struct {
	Type    string `json:"__type"`
	Message string `json:"message,omitempty"`
}

// Timestamp is a time that AWS JSON 1.1 encodes as epoch seconds, a JSON
// number that may be fractional (for example 1.7672724E9).
type Timestamp struct {
	time.Time
}
