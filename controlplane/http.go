package controlplane

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/ecsd-project/ecsd/controlplane/auth"
	"github.com/ecsd-project/ecsd/wire/ecs"
)

// maxBody bounds an API request body.
const maxBody = 4 << 20

// ssmTargetPrefix is the X-Amz-Target prefix routed to Config.SSM.
const ssmTargetPrefix = "AmazonSSM"

// tcsPathPrefix is the path of the telemetry endpoint under the base URL;
// its websocket is at /tcs/ws. telemetryStatusPath is the read-only page
// of the latest telemetry per container instance.
const (
	tcsPathPrefix       = "tcs"
	telemetryStatusPath = "/status/telemetry"
)

// ServeHTTP serves the ECS API on POST /, hands AmazonSSM.* targets to
// Config.SSM, GET /ws to Config.ACS, GET /tcs/ws to Config.TCS and
// /status/telemetry to Config.TelemetryStatus.
func (cp *ControlPlane) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/ws":
		if cp.cfg.ACS == nil || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		cp.cfg.ACS.ServeHTTP(w, r)
	case r.URL.Path == "/"+tcsPathPrefix+"/ws":
		if cp.cfg.TCS == nil || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		cp.cfg.TCS.ServeHTTP(w, r)
	case r.URL.Path == telemetryStatusPath:
		if cp.cfg.TelemetryStatus == nil {
			http.NotFound(w, r)
			return
		}
		cp.cfg.TelemetryStatus.ServeHTTP(w, r)
	case r.URL.Path == "/" && r.Method == http.MethodPost:
		prefix, op, _ := strings.Cut(r.Header.Get(ecs.HeaderTarget), ".")
		switch prefix {
		case ecs.TargetPrefix:
			cp.serveECS(w, r, op)
		case ssmTargetPrefix:
			if cp.cfg.SSM == nil {
				writeError(w, http.StatusBadRequest, ecs.ErrUnknownOperationException, "")
				return
			}
			cp.cfg.SSM.ServeHTTP(w, r)
		default:
			writeError(w, http.StatusBadRequest, ecs.ErrUnknownOperationException, "")
		}
	default:
		http.NotFound(w, r)
	}
}

type principalKey struct{}

// principal returns who signed the request being served.
func principal(ctx context.Context) string {
	p, _ := ctx.Value(principalKey{}).(string)
	return p
}

type baseURLKey struct{}

// baseURL is the URL the request came to, "http://HOST/".
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/"
}

func (cp *ControlPlane) serveECS(w http.ResponseWriter, r *http.Request, op string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, ecs.ErrSerializationException, "could not read the request body")
		return
	}
	if len(body) > maxBody {
		writeError(w, http.StatusRequestEntityTooLarge, ecs.ErrSerializationException, "request body too large")
		return
	}
	who, err := cp.keyring.Verify(r, body, ecs.SigningName)
	if err != nil {
		var ae *auth.Error
		if errors.As(err, &ae) {
			cp.log.Info("request refused", keyOperation, op, keyError, err)
			writeError(w, ae.StatusCode(), ae.Type, ae.Message)
			return
		}
		cp.log.Error("verify signature", keyOperation, op, keyError, err)
		writeError(w, http.StatusInternalServerError, ecs.ErrServerException, "Service Unavailable. Please try again later.")
		return
	}
	ctx := context.WithValue(r.Context(), principalKey{}, who)
	ctx = context.WithValue(ctx, baseURLKey{}, baseURL(r))
	out, err := cp.call(ctx, op, body)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			cp.log.Debug("request failed", keyOperation, op, keyPrincipal, who, keyError, err)
			writeError(w, http.StatusBadRequest, ae.Type, ae.Message)
			return
		}
		cp.log.Error("request failed", keyOperation, op, keyPrincipal, who, keyError, err)
		writeError(w, http.StatusInternalServerError, ecs.ErrServerException, "Service Unavailable. Please try again later.")
		return
	}
	b, err := json.Marshal(out)
	if err != nil {
		cp.log.Error("encode response", keyOperation, op, keyError, err)
		writeError(w, http.StatusInternalServerError, ecs.ErrServerException, "Service Unavailable. Please try again later.")
		return
	}
	w.Header().Set("Content-Type", ecs.ContentType)
	w.Header().Set(ecs.HeaderRequestID, newUUID())
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// call decodes the request of op, runs it and returns its response.
func (cp *ControlPlane) call(ctx context.Context, op string, body []byte) (any, error) {
	switch op {
	case ecs.OpCreateCluster:
		return handle(ctx, body, cp.createCluster)
	case ecs.OpDeleteCluster:
		return handle(ctx, body, cp.deleteCluster)
	case ecs.OpDescribeClusters:
		return handle(ctx, body, cp.describeClusters)
	case ecs.OpListClusters:
		return handle(ctx, body, cp.listClusters)
	case ecs.OpRegisterTaskDefinition:
		return handle(ctx, body, cp.registerTaskDefinition)
	case ecs.OpDeregisterTaskDefinition:
		return handle(ctx, body, cp.deregisterTaskDefinition)
	case ecs.OpDescribeTaskDefinition:
		return handle(ctx, body, cp.describeTaskDefinition)
	case ecs.OpListTaskDefinitions:
		return handle(ctx, body, cp.listTaskDefinitions)
	case ecs.OpListTaskDefinitionFamilies:
		return handle(ctx, body, cp.listTaskDefinitionFamilies)
	case ecs.OpRunTask:
		return handle(ctx, body, cp.runTask)
	case ecs.OpStartTask:
		return handle(ctx, body, cp.startTask)
	case ecs.OpStopTask:
		return handle(ctx, body, cp.stopTask)
	case ecs.OpDescribeTasks:
		return handle(ctx, body, cp.describeTasks)
	case ecs.OpListTasks:
		return handle(ctx, body, cp.listTasks)
	case ecs.OpRegisterContainerInstance:
		return handle(ctx, body, cp.registerContainerInstance)
	case ecs.OpDeregisterContainerInstance:
		return handle(ctx, body, cp.deregisterContainerInstance)
	case ecs.OpDescribeContainerInstances:
		return handle(ctx, body, cp.describeContainerInstances)
	case ecs.OpListContainerInstances:
		return handle(ctx, body, cp.listContainerInstances)
	case ecs.OpUpdateContainerInstancesState:
		return handle(ctx, body, cp.updateContainerInstancesState)
	case ecs.OpPutAttributes:
		return handle(ctx, body, cp.putAttributes)
	case ecs.OpDiscoverPollEndpoint:
		return handle(ctx, body, cp.discoverPollEndpoint)
	case ecs.OpSubmitTaskStateChange:
		return handle(ctx, body, cp.submitTaskStateChange)
	case ecs.OpSubmitContainerStateChange:
		return handle(ctx, body, cp.submitContainerStateChange)
	case ecs.OpCreateService:
		return handle(ctx, body, cp.createService)
	case ecs.OpUpdateService:
		return handle(ctx, body, cp.updateService)
	case ecs.OpDeleteService:
		return handle(ctx, body, cp.deleteService)
	case ecs.OpDescribeServices:
		return handle(ctx, body, cp.describeServices)
	case ecs.OpListServices:
		return handle(ctx, body, cp.listServices)
	case ecs.OpTagResource:
		return handle(ctx, body, cp.tagResource)
	case ecs.OpListTagsForResource:
		return handle(ctx, body, cp.listTagsForResource)
	}
	return nil, apiErr(ecs.ErrUnknownOperationException, "")
}

func handle[In, Out any](ctx context.Context, body []byte, fn func(context.Context, *In) (*Out, error)) (any, error) {
	in := new(In)
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, in); err != nil {
			return nil, apiErr(ecs.ErrSerializationException, "%s", serializationMessage(err))
		}
	}
	return fn(ctx, in)
}

func serializationMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return "Unexpected " + te.Value + " for member " + te.Field
	}
	return err.Error()
}

// writeError writes an AWS JSON 1.1 error.
func writeError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(ecs.ErrorResponse{Type: typ, Message: msg})
	w.Header().Set("Content-Type", ecs.ContentType)
	w.Header().Set(ecs.HeaderErrorType, typ)
	w.Header().Set(ecs.HeaderRequestID, newUUID())
	w.WriteHeader(status)
	w.Write(b)
}
