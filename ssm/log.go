package ssm

// Log attribute keys.
const (
	logKeyInstance    = "managed_instance"
	logKeyRegion      = "region"
	logKeyErr         = "err"
	logKeyExpires     = "expires"
	logKeyNextRefresh = "next_refresh"
	logKeyRetryIn     = "retry_in"
	logKeyAttempt     = "attempt"
	logKeyTarget      = "target"
	logKeySkew        = "clock_skew"
	logKeyFile        = "file"
)
