package tmds

// Credentials is the 200 body of GET /v2/credentials/{id} and
// GET /v1/credentials?id=. Expiration is passed through as ACS sent it.
type Credentials struct {
	RoleArn         string `json:"RoleArn"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
}

// Error codes of the credentials endpoints.
const (
	ErrNoIDInRequest            = "NoIdInRequest"
	ErrInvalidIDInRequest       = "InvalidIdInRequest"
	ErrCredentialsUninitialized = "CredentialsUninitialized"
	ErrInternalServer           = "InternalServerError"
)

// Error is the body of a credentials endpoint's error: Message is
// "CredentialsV<n>Request: <text>".
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
