package endpoint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/ecsd-project/ecsd/credentials"
	"github.com/ecsd-project/ecsd/wire/tmds"
)

// Timeouts of both servers, as the ECS agent's.
const (
	ReadTimeout  = 5 * time.Second
	WriteTimeout = 5 * time.Second
)

// Config configures the task endpoint's handler.
type Config struct {
	Tasks       TaskLookup
	Credentials CredentialsLookup
	// Rate and Burst bound requests (ECS_TASK_METADATA_RPS_LIMIT); zero
	// takes DefaultRate and DefaultBurst.
	Rate  float64
	Burst int
	// Stats samples containers for the stats paths; nil: they answer 500.
	Stats StatsSource
	// Now is the rate limiter's clock; nil is time.Now.
	Now func() time.Time
	Log *slog.Logger
}

// taskEndpoint serves credentials and task metadata.
type taskEndpoint struct {
	tasks   TaskLookup
	creds   CredentialsLookup
	stats   StatsSource
	samples samples
	log     *slog.Logger
}

// New returns the task endpoint's handler.
func New(cfg Config) http.Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Burst <= 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	e := &taskEndpoint{tasks: cfg.Tasks, creds: cfg.Credentials, stats: cfg.Stats, log: cfg.Log}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/credentials/{id}", func(w http.ResponseWriter, r *http.Request) {
		e.credentials(w, r, 2, r.PathValue("id"))
	})
	mux.HandleFunc("GET /v2/credentials/{$}", func(w http.ResponseWriter, r *http.Request) { e.credentials(w, r, 2, "") })
	mux.HandleFunc("GET /v2/credentials", func(w http.ResponseWriter, r *http.Request) { e.credentials(w, r, 2, "") })
	mux.HandleFunc("GET /v1/credentials", func(w http.ResponseWriter, r *http.Request) {
		e.credentials(w, r, 1, r.URL.Query().Get("id"))
	})
	for _, v := range []int{3, 4} {
		mux.HandleFunc(fmt.Sprintf("GET /v%d/{id}", v), func(w http.ResponseWriter, r *http.Request) { e.container(w, r, v) })
		mux.HandleFunc(fmt.Sprintf("GET /v%d/{id}/task", v), func(w http.ResponseWriter, r *http.Request) { e.task(w, r, v) })
		mux.HandleFunc(fmt.Sprintf("GET /v%d/{id}/stats", v), func(w http.ResponseWriter, r *http.Request) { e.containerStats(w, r, v) })
		mux.HandleFunc(fmt.Sprintf("GET /v%d/{id}/task/stats", v), func(w http.ResponseWriter, r *http.Request) { e.taskStats(w, r, v) })
	}
	return limit(newBucket(cfg.Rate, cfg.Burst, cfg.Now), mux)
}

// caller is the request's source address; the zero Addr if unknown.
func caller(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// credentialsError is one of the credentials endpoints' errors.
type credentialsError struct {
	status int
	code   string
	text   string
}

var (
	errNoID          = credentialsError{http.StatusBadRequest, tmds.ErrNoIDInRequest, "No Credential ID in the request"}
	errNotFound      = credentialsError{http.StatusBadRequest, tmds.ErrInvalidIDInRequest, "Credentials not found"}
	errUninitialized = credentialsError{http.StatusServiceUnavailable, tmds.ErrCredentialsUninitialized, "Credentials uninitialized for ID"}
	errInternal      = credentialsError{http.StatusInternalServerError, tmds.ErrInternalServer, "Internal server error"}
)

// credentials serves GET /v<version>/credentials.
func (e *taskEndpoint) credentials(w http.ResponseWriter, r *http.Request, version int, id string) {
	from := caller(r)
	fail := func(ce credentialsError) {
		e.log.Info("credentials request refused", "version", version, "caller", from, "code", ce.code)
		writeJSON(w, ce.status, tmds.Error{Code: ce.code, Message: fmt.Sprintf("CredentialsV%dRequest: %s", version, ce.text)})
	}
	if id == "" {
		fail(errNoID)
		return
	}
	tasks := e.tasks.Tasks()
	c, ok := e.creds.Get(id)
	if ok && c.RoleType == credentials.RoleExecution {
		// Execution-role credentials are ecsd's own, never a task's.
		ok = false
	}
	if ok && !known(tasks, c.TaskARN) {
		// A task that is gone (cleaned up) has no credentials any more.
		ok = false
	}
	if !ok {
		for _, t := range tasks {
			if t.CredentialsID == id && allowed(tasks, from, t.Metadata.TaskARN) {
				fail(errUninitialized)
				return
			}
		}
		fail(errNotFound)
		return
	}
	if !allowed(tasks, from, c.TaskARN) {
		e.log.Warn("a task asked for another task's credentials; refused", "caller", from,
			"callerTasks", tasksAt(tasks, from), "owner", c.TaskARN)
		fail(errNotFound)
		return
	}
	body, err := json.Marshal(tmds.Credentials{RoleArn: c.RoleARN, AccessKeyID: c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey, Token: c.SessionToken, Expiration: c.Expiration})
	if err != nil {
		fail(errInternal)
		return
	}
	e.log.Info("credentials served", "version", version, "caller", from, "task", c.TaskARN, "roleArn", c.RoleARN)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// lookup finds the endpoint id's task and container for the caller, or
// answers 404 with a JSON string, as the ECS agent does.
func (e *taskEndpoint) lookup(w http.ResponseWriter, r *http.Request, what string) (Task, Container, []Task, bool) {
	id := r.PathValue("id")
	tasks := e.tasks.Tasks()
	t, c, ok := byEndpointID(tasks, id)
	if ok && !allowed(tasks, caller(r), t.Metadata.TaskARN) {
		e.log.Warn("a task asked for another task's metadata; refused", "caller", caller(r),
			"callerTasks", tasksAt(tasks, caller(r)), "owner", t.Metadata.TaskARN)
		ok = false
	}
	if !ok {
		writeJSON(w, http.StatusNotFound, what+": unable to find the task of endpoint id "+id)
		return Task{}, Container{}, nil, false
	}
	return t, c, tasks, true
}

func (e *taskEndpoint) container(w http.ResponseWriter, r *http.Request, version int) {
	_, c, _, ok := e.lookup(w, r, fmt.Sprintf("V%d container metadata handler", version))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, c.Metadata)
}

func (e *taskEndpoint) task(w http.ResponseWriter, r *http.Request, version int) {
	t, _, _, ok := e.lookup(w, r, fmt.Sprintf("V%d task metadata handler", version))
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, t.withContainers())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}

// Serve serves h on ln with the endpoints' timeouts until ctx ends, then
// shuts down within a few seconds. It returns nil after ctx ends.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{Handler: h, ReadTimeout: ReadTimeout, ReadHeaderTimeout: ReadTimeout, WriteTimeout: WriteTimeout,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-sctx.Done()
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		if err := srv.Shutdown(dctx); err != nil {
			srv.Close()
		}
	}()
	err := srv.Serve(ln)
	stop()
	<-done
	if ctx.Err() != nil || errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
