package ssmserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

// Defaults of Config.
const (
	DefaultRoleCredentialsTTL = time.Hour
	// defaultActivationTTL is how long an activation lasts when
	// CreateActivation names no ExpirationDate, as in SSM.
	defaultActivationTTL = 24 * time.Hour
	// maxActivationTTL is the furthest ExpirationDate SSM accepts.
	maxActivationTTL = 30 * 24 * time.Hour
	// maxBodyBytes bounds a request body.
	maxBodyBytes = 1 << 20
)

// Log attribute keys.
const (
	logKeyOp         = "op"
	logKeyActivation = "activation"
	logKeyInstance   = "instance"
	logKeyPrincipal  = "principal"
	logKeyCode       = "code"
	logKeyErr        = "err"
)

// Config is everything the server needs, passed in by ecs-local.
type Config struct {
	// DataDir holds the state file, DataDir/ssm.db.
	DataDir string
	// Region is the region clients sign for; RSA-signed requests scoped to
	// another are refused.
	Region string
	// AccountID goes into the instance principals, 12 digits.
	AccountID string
	// Now is the server's clock; nil: time.Now.
	Now func() time.Time
	// Log receives one line per change and per refused call; nil: discard.
	Log *slog.Logger

	// Verify checks the SigV4 signature (service ssm) of an admin call whose
	// body is body, and returns the caller's principal (an ARN). A refusal
	// that carries its AWS code (ErrorCode() string, and optionally
	// ErrorMessage() string and HTTPStatusCode() or StatusCode() int) is
	// answered with that code and status; any other error as an HTTP 400
	// InvalidSignatureException.
	Verify func(r *http.Request, body []byte) (principal string, err error)
	// Issue mints temporary credentials for principal, valid for ttl, that
	// the rest of ecs-local accepts.
	Issue func(principal string, ttl time.Duration) (accessKeyID, secretAccessKey, sessionToken string, expires time.Time, err error)
	// RoleCredentialsTTL is the lifetime asked of Issue for a managed
	// instance's role credentials; 0: DefaultRoleCredentialsTTL. An instance
	// that has not asked for credentials for this long is ConnectionLost.
	RoleCredentialsTTL time.Duration
	// RotateKeyAfter, if positive, sets UpdateKeyPair in the answer to
	// RequestManagedInstanceRoleToken once the instance's key has been
	// registered this long, asking it to rotate the key.
	RotateKeyAfter time.Duration
}

var accountIDPattern = regexp.MustCompile(`^[0-9]{12}$`)

// validate lists every problem of c.
func (c Config) validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("DataDir is empty"))
	}
	if c.Region == "" {
		errs = append(errs, errors.New("Region is empty"))
	}
	if !accountIDPattern.MatchString(c.AccountID) {
		errs = append(errs, fmt.Errorf("AccountID %q is not 12 digits", c.AccountID))
	}
	if c.Verify == nil {
		errs = append(errs, errors.New("Verify is nil"))
	}
	if c.Issue == nil {
		errs = append(errs, errors.New("Issue is nil"))
	}
	if c.RoleCredentialsTTL < 0 {
		errs = append(errs, fmt.Errorf("RoleCredentialsTTL %s is negative", c.RoleCredentialsTTL))
	}
	if c.RotateKeyAfter < 0 {
		errs = append(errs, fmt.Errorf("RotateKeyAfter %s is negative", c.RotateKeyAfter))
	}
	return errors.Join(errs...)
}

// Server serves the SSM calls of hybrid activation. It is an http.Handler;
// ecs-local routes to it the requests whose X-Amz-Target starts with
// "AmazonSSM.".
type Server struct {
	cfg Config
	db  *bolt.DB
	log *slog.Logger
	now func() time.Time
}

var _ http.Handler = (*Server)(nil)

// New opens (or creates) the state under cfg.DataDir. Close releases it.
func New(cfg Config) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("ssmserver config: %w", err)
	}
	if cfg.RoleCredentialsTTL == 0 {
		cfg.RoleCredentialsTTL = DefaultRoleCredentialsTTL
	}
	s := &Server{cfg: cfg, log: cfg.Log, now: cfg.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	db, err := openDB(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s.db = db
	return s, nil
}

// Close closes the state file. Requests still in flight fail.
func (s *Server) Close() error { return s.db.Close() }

// call is one request being served.
type call struct {
	r    *http.Request
	body []byte
	now  time.Time // the server's time, read once per request
	op   string
	log  *slog.Logger
}

// decode reads the JSON body into v; an empty body is an empty object.
func (c *call) decode(v any) error {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(c.body, v); err != nil {
		return badRequest(codeSerialization, "The request body of %s could not be read: %v", c.op, err)
	}
	return nil
}

// ServeHTTP answers one AWS JSON 1.1 call. Every answer carries the
// server's time in its Date header, which RSA-signing clients use to
// correct their clocks.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := s.now().UTC()
	w.Header().Set("Date", now.Format(http.TimeFormat))
	w.Header().Set("X-Amzn-Requestid", newUUID())

	op, ok := strings.CutPrefix(r.Header.Get(wire.HeaderTarget), wire.TargetPrefix+".")
	log := s.log.With(logKeyOp, op)
	if r.Method != http.MethodPost || !ok {
		writeError(w, &apiError{Status: http.StatusNotFound, Code: codeUnknownOperation, Msg: "Send POST / with X-Amz-Target: AmazonSSM.<Operation>"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		writeError(w, badRequest(codeSerialization, "The request body could not be read: %v", err))
		return
	}
	c := &call{r: r, body: body, now: now, op: op, log: log}
	out, err := s.dispatch(c)
	if err != nil {
		e, internal := asAPIError(err)
		if internal {
			log.Error("SSM call failed", logKeyErr, err.Error())
		} else {
			log.Info("SSM call refused", logKeyCode, e.Code, logKeyErr, e.Msg)
		}
		writeError(w, e)
		return
	}
	w.Header().Set(wire.HeaderContentType, wire.ContentType)
	if err := json.NewEncoder(w).Encode(out); err != nil {
		log.Debug("write SSM answer", logKeyErr, err.Error())
	}
}

// dispatch runs the operation named by the target, authenticated the way
// that operation is.
func (s *Server) dispatch(c *call) (any, error) {
	switch c.op {
	case "RegisterManagedInstance": // unsigned: the activation code is the proof
		return s.registerManagedInstance(c)
	case "RequestManagedInstanceRoleToken": // RSA-signed with the instance's key
		return s.requestManagedInstanceRoleToken(c)
	case "UpdateManagedInstancePublicKey": // RSA-signed with the instance's key
		return s.updateManagedInstancePublicKey(c)
	case "DeregisterManagedInstance": // SigV4, an admin or the instance itself
		return s.signed(c, s.deregisterManagedInstance)
	case "CreateActivation":
		return s.signed(c, adminOnly(s, s.createActivation))
	case "DescribeActivations":
		return s.signed(c, adminOnly(s, s.describeActivations))
	case "DeleteActivation":
		return s.signed(c, adminOnly(s, s.deleteActivation))
	case "DescribeInstanceInformation":
		return s.signed(c, adminOnly(s, s.describeInstanceInformation))
	}
	return nil, badRequest(codeUnknownOperation, "Unknown operation %s", c.op)
}

// signed runs op for the principal of a SigV4-signed call.
func (s *Server) signed(c *call, op func(c *call, principal string) (any, error)) (any, error) {
	principal, err := s.verify(c)
	if err != nil {
		return nil, err
	}
	c.log = c.log.With(logKeyPrincipal, principal)
	return op(c, principal)
}

// adminOnly refuses op to managed instances.
func adminOnly(s *Server, op func(c *call) (any, error)) func(*call, string) (any, error) {
	return func(c *call, principal string) (any, error) {
		if id, ok := s.instanceOf(principal); ok {
			return nil, accessDenied(principal, c.op, id)
		}
		return op(c)
	}
}

// verify checks an admin call's SigV4 signature through Config.Verify.
func (s *Server) verify(c *call) (string, error) {
	if c.r.Header.Get(wire.HeaderAuthorization) == "" && c.r.URL.Query().Get("X-Amz-Signature") == "" {
		return "", badRequest(codeMissingAuthentication, "Missing Authentication Token")
	}
	principal, err := s.cfg.Verify(c.r, c.body)
	if err != nil {
		return "", verifyError(err)
	}
	return principal, nil
}

func accessDenied(principal, op, resource string) *apiError {
	return badRequest(wire.ErrCodeAccessDeniedException, "User: %s is not authorized to perform: ssm:%s on resource: %s", principal, op, resource)
}

// principal is the identity a managed instance's role credentials carry:
// the role's assumed-role ARN with the instance id as session name.
func (s *Server) principal(iamRole, instanceID string) string {
	return "arn:aws:sts::" + s.cfg.AccountID + ":assumed-role/" + roleName(iamRole) + "/" + instanceID
}

// instanceOf says whether principal is a managed instance's (its
// assumed-role ARN, or the bare mi-… id), and which.
func (s *Server) instanceOf(principal string) (string, bool) {
	if instanceIDPattern.MatchString(principal) {
		return principal, true
	}
	rest, ok := strings.CutPrefix(principal, "arn:aws:sts::"+s.cfg.AccountID+":assumed-role/")
	if !ok {
		return "", false
	}
	_, session, ok := strings.Cut(rest, "/")
	if !ok || !instanceIDPattern.MatchString(session) {
		return "", false
	}
	return session, true
}

// roleName is the name of an IAM role given as a name, a path and name
// (service-role/Name) or an ARN.
func roleName(iamRole string) string {
	if i := strings.LastIndexByte(iamRole, '/'); i >= 0 {
		return iamRole[i+1:]
	}
	return iamRole
}

// remoteIP is the address a request came from, without the port.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// agentVersion is the version of ecsd or amazon-ssm-agent named in a
// User-Agent ("ecsd/1.2.3", "aws-sdk-go/1.55 (…) amazon-ssm-agent/3.3.0"),
// else the version of its first product.
func agentVersion(userAgent string) string {
	first := ""
	for i, product := range strings.Fields(userAgent) {
		name, v, ok := strings.Cut(product, "/")
		if !ok {
			continue
		}
		if name == "ecsd" || name == "amazon-ssm-agent" {
			return v
		}
		if i == 0 {
			first = v
		}
	}
	return first
}
