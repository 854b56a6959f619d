package controlplane

import (
	"fmt"

	"github.com/ecsd-project/ecsd/wire/ecs"
)

// apiError is an error the ECS API returns to the caller as is: HTTP 400
// with {"__type": Type, "message": Message}. Any other error a handler
// returns becomes a ServerException and is logged.
type apiError struct {
	Type    string
	Message string
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func apiErr(typ, format string, args ...any) *apiError {
	return &apiError{Type: typ, Message: fmt.Sprintf(format, args...)}
}

func invalidParam(format string, args ...any) *apiError {
	return apiErr(ecs.ErrInvalidParameterException, format, args...)
}

func clientErr(format string, args ...any) *apiError {
	return apiErr(ecs.ErrClientException, format, args...)
}

func errClusterNotFound() *apiError {
	return apiErr(ecs.ErrClusterNotFoundException, "Cluster not found.")
}

func errServiceNotFound() *apiError {
	return apiErr(ecs.ErrServiceNotFoundException, "Service not found.")
}

func errServiceNotActive() *apiError {
	return apiErr(ecs.ErrServiceNotActiveException, "Service was not ACTIVE.")
}

// missing is the Describe* failure for a reference that names nothing: a
// full ARN is reported as given, a short id as the ARN it would have.
func missing(ref string, arnOf func(id string) string) ecs.Failure {
	arn := ref
	if _, _, ok := resource(ref); !ok {
		arn = arnOf(ref)
	}
	return ecs.Failure{ARN: arn, Reason: ecs.ReasonMissing}
}
