package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/ecsd-project/ecsd/controlplane/acsserver"
	"github.com/ecsd-project/ecsd/controlplane/auth"
	"github.com/ecsd-project/ecsd/controlplane/ssmserver"
	"github.com/ecsd-project/ecsd/controlplane/tcsserver"
	"github.com/ecsd-project/ecsd/wire/acs"
	"github.com/ecsd-project/ecsd/wire/tcs"
)

// Local is ecs-local whole: the ECS API, the ACS and TCS websockets and
// the SSM API behind one http.Handler, sharing one keyring, so that the
// credentials SSM gives a registered host are the ones the ECS API, ACS
// and TCS accept.
// Config.ACS, Config.SSM and Config.Dispatcher are built here.
type Local struct {
	*ControlPlane
	ACS *acsserver.Server
	SSM *ssmserver.Server
	// TCS is the telemetry websocket (GET /tcs/ws); its status page is
	// GET /status/telemetry.
	TCS *tcsserver.Server
}

// NewLocal builds the whole local control plane.
func NewLocal(cfg Config) (*Local, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Keyring == nil {
		cfg.Keyring = auth.NewKeyring(cfg.Now)
	}
	keyring := cfg.Keyring
	l := &Local{}
	l.ACS = acsserver.New(acsserver.Options{
		Verify: func(r *http.Request) (string, error) { return keyring.Verify(r, nil, "ecs") },
		Log:    cfg.Log.With("component", "acs"),
		OnConnect: func(ctx context.Context, arn string) {
			l.ControlPlane.OnConnect(ctx, arn)
			<-ctx.Done()
			if !l.ACS.Connected(arn) {
				l.ControlPlane.OnDisconnect(arn)
			}
		},
		OnMessage: l.onACSMessage,
	})
	l.TCS = tcsserver.New(tcsserver.Options{
		Verify: func(r *http.Request, body []byte) (string, error) { return keyring.Verify(r, body, "ecs") },
		Log:    cfg.Log.With("component", "tcs"),
		OnHealth: func(arn string, tasks []tcs.TaskHealth) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := l.ControlPlane.RecordHealth(ctx, arn, tasks); err != nil {
				cfg.Log.Warn("record task health", keyInstance, arn, keyError, err)
			}
		},
	})
	ssm, err := ssmserver.New(ssmserver.Config{
		DataDir: cfg.DataDir, Region: cfg.Region, AccountID: cfg.AccountID, Now: cfg.Now,
		Log:    cfg.Log.With("component", "ssm"),
		Verify: func(r *http.Request, body []byte) (string, error) { return keyring.Verify(r, body, "ssm") },
		Issue: func(principal string, ttl time.Duration) (string, string, string, time.Time, error) {
			c, err := l.ControlPlane.IssueCredentials(principal, ttl)
			return c.AccessKeyID, c.SecretAccessKey, c.SessionToken, c.Expires, err
		},
	})
	if err != nil {
		l.ACS.Close()
		l.TCS.Close()
		return nil, err
	}
	l.SSM = ssm
	cfg.ACS, cfg.SSM, cfg.Dispatcher = l.ACS, ssm, acsDispatcher{l.ACS}
	cfg.TCS, cfg.TelemetryStatus = l.TCS, l.TCS.StatusHandler()
	cp, err := New(cfg)
	if err != nil {
		ssm.Close()
		l.ACS.Close()
		l.TCS.Close()
		return nil, err
	}
	l.ControlPlane = cp
	return l, nil
}

// Close releases all four parts.
func (l *Local) Close() error {
	return errors.Join(l.ACS.Close(), l.TCS.Close(), l.SSM.Close(), l.ControlPlane.Close())
}

// onACSMessage answers an agent's stop verification with the tasks ECS
// wants stopped.
func (l *Local) onACSMessage(arn string, msg acs.Message) {
	if msg.Type != acs.TypeTaskStopVerificationMessage {
		return
	}
	var req acs.TaskStopVerificationMessage
	if err := json.Unmarshal(msg.Message, &req); err != nil {
		return
	}
	stop := l.ControlPlane.StopVerification(arn, req.StopCandidates)
	ack := acs.TaskStopVerificationAck{MessageID: req.MessageID, GeneratedAt: l.ControlPlane.cfg.Now().UnixMilli(), StopTasks: stop}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l.ACS.Send(ctx, arn, acs.TypeTaskStopVerificationAck, ack)
}

// acsDispatcher delivers tasks to agents over their ACS sessions.
type acsDispatcher struct{ srv *acsserver.Server }

func (d acsDispatcher) Dispatch(ctx context.Context, arn string, tasks []acs.Task) error {
	return d.srv.Deliver(ctx, arn, acs.PayloadMessage{Tasks: tasks})
}
