package ssm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/restjson"

	wire "github.com/ecsd-project/ecsd/wire/ssm"
)

const (
	// requestTimeout bounds one HTTP exchange, as in the SSM agent.
	requestTimeout = 60 * time.Second
	// maxResponseBytes bounds what is read of a response body.
	maxResponseBytes = 1 << 20
	// skewTolerance: a server clock further off than this is corrected for.
	skewTolerance = 30 * time.Second
)

// signFunc signs an outgoing request whose body is body, at time now.
type signFunc func(req *http.Request, body []byte, now time.Time) error

// client makes AWS JSON 1.1 calls to one SSM endpoint. It retries through
// an aws.Retryer, sleeps on its Clock, and tracks the server's clock from
// the Date header of every response so that signatures use server time.
type client struct {
	endpoint  *url.URL
	http      *http.Client
	retryer   aws.Retryer
	clock     Clock
	userAgent string
	log       *slog.Logger

	mu   sync.Mutex
	skew time.Duration // server time minus local time; 0 within skewTolerance
}

func defaultHTTPClient() *http.Client {
	return &http.Client{
		Timeout: requestTimeout,
		// An API call is never redirected; a 3xx is an error.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func newClient(endpoint string, hc *http.Client, retryer aws.Retryer, clk Clock, userAgent string, log *slog.Logger) (*client, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("SSM endpoint %q: %w", endpoint, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("SSM endpoint %q: want an http or https URL", endpoint)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	if hc == nil {
		hc = defaultHTTPClient()
	}
	if userAgent == "" {
		userAgent = "ecsd"
	}
	return &client{endpoint: u, http: hc, retryer: retryer, clock: clk, userAgent: userAgent, log: log}, nil
}

// now is the current time as the server's clock has it.
func (c *client) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.clock.Now().Add(c.skew)
}

// toLocal converts a time read from the server to the local clock.
func (c *client) toLocal(t time.Time) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return t.Add(-c.skew)
}

// observeDate records the skew shown by a response's Date header and says
// whether it changed.
func (c *client) observeDate(date string, local time.Time) bool {
	server, err := http.ParseTime(date)
	if err != nil {
		return false
	}
	skew := server.Sub(local)
	if skew > -skewTolerance && skew < skewTolerance {
		skew = 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if skew == c.skew {
		return false
	}
	if skew == 0 {
		c.log.Info("the local clock agrees with SSM's again")
	} else {
		c.log.Warn("the local clock is off; signing with SSM's time", logKeySkew, skew.Round(time.Second).String())
	}
	c.skew = skew
	return true
}

// call sends in to target and decodes the answer into out (which may be
// nil). Signed calls pass sign. Errors the retryer deems retryable are
// retried after its delay; a request refused for clock skew is re-signed at
// once with the corrected time.
func (c *client) call(ctx context.Context, target string, in, out any, sign signFunc) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: encode request: %w", target, err)
	}
	resigned := false
	for attempt := 1; ; attempt++ {
		skewed, err := c.attempt(ctx, target, body, out, sign)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s: %w", target, ctx.Err())
		}
		if sign != nil && skewed && !resigned && isSkewError(err) {
			resigned = true
			attempt--
			continue
		}
		if attempt >= c.retryer.MaxAttempts() || !c.retryer.IsErrorRetryable(err) {
			return fmt.Errorf("%s: %w", target, err)
		}
		delay, derr := c.retryer.RetryDelay(attempt, err)
		if derr != nil {
			return fmt.Errorf("%s: %w", target, err)
		}
		c.log.Debug("retrying SSM call", logKeyTarget, target, logKeyAttempt, attempt, logKeyRetryIn, delay.String(), logKeyErr, err.Error())
		if err := sleep(ctx, c.clock, delay); err != nil {
			return fmt.Errorf("%s: %w", target, err)
		}
	}
}

func (c *client) attempt(ctx context.Context, target string, body []byte, out any, sign signFunc) (skewed bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint.String(), bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set(wire.HeaderContentType, wire.ContentType)
	req.Header.Set(wire.HeaderTarget, target)
	req.Header.Set("User-Agent", c.userAgent)
	if sign != nil {
		if err := sign(req, body, c.now()); err != nil {
			return false, fmt.Errorf("sign request: %w", err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return false, fmt.Errorf("read response: %w", err)
	}
	skewed = c.observeDate(resp.Header.Get("Date"), c.clock.Now())
	return skewed, parseResponse(resp.StatusCode, resp.Header, b, out)
}

// parseResponse turns an HTTP answer into out or an *APIError.
func parseResponse(status int, h http.Header, body []byte, out any) error {
	if status >= 200 && status < 300 {
		if out == nil || len(bytes.TrimSpace(body)) == 0 {
			return nil
		}
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("decode response: %w", err)
		}
		return nil
	}
	e := &APIError{StatusCode: status, Code: "UnknownError", RequestID: h.Get("X-Amzn-Requestid")}
	code, msg, err := restjson.GetErrorInfo(json.NewDecoder(bytes.NewReader(body)))
	if err == nil {
		e.Message = msg
		if code != "" {
			e.Code = code
		}
	}
	if hc := h.Get(wire.HeaderErrorType); hc != "" {
		e.Code = restjson.SanitizeErrorCode(hc)
	}
	if e.Code == "" {
		e.Code = "UnknownError"
	}
	return e
}

// isSkewError says whether SSM refused a signature because of the time.
func isSkewError(err error) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	switch e.Code {
	case wire.ErrCodeInvalidSignatureException, "RequestExpired", "RequestTimeTooSkewed", "RequestInTheFuture", "SignatureDoesNotMatch", "AuthFailure":
		return true
	}
	return false
}
