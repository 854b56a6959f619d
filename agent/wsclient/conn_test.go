package wsclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// manualClock hands out waits that fire only when the test fires them;
// each wait asked for is announced on asked.
type manualClock struct {
	asked chan manualWait
}

type manualWait struct {
	d  time.Duration
	ch chan time.Time
}

func newManualClock() *manualClock { return &manualClock{asked: make(chan manualWait, 16)} }

func (c *manualClock) Now() time.Time { return time.Now() }

func (c *manualClock) After(d time.Duration) <-chan time.Time {
	w := manualWait{d: d, ch: make(chan time.Time, 1)}
	c.asked <- w
	return w.ch
}

// await returns the next wait of d asked for, skipping others.
func (c *manualClock) await(t *testing.T, d time.Duration) chan<- time.Time {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case w := <-c.asked:
			if w.d == d {
				return w.ch
			}
		case <-timeout:
			t.Fatalf("no wait of %v was asked for", d)
		}
	}
}

// closeServer accepts one websocket and reports the close frame it gets.
func closeServer(t *testing.T) (*Conn, <-chan *websocket.CloseError) {
	t.Helper()
	got := make(chan *websocket.CloseError, 1)
	// The one handler ends (closing done) before the test does.
	done := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			got <- nil
			return
		}
		defer ws.Close()
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				var ce *websocket.CloseError
				if !errors.As(err, &ce) {
					ce = nil
				}
				got <- ce
				return
			}
		}
	}))
	ws, _, err := websocket.DefaultDialer.DialContext(t.Context(), "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		hs.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = ws.Close()
		hs.CloseClientConnections()
		hs.Close()
		<-done
	})
	return NewConn(ws, time.Second), got
}

const (
	testIdle     = time.Hour
	testLifetime = 2 * time.Hour
)

func TestMonitor(t *testing.T) {
	for _, tc := range []struct {
		name     string
		end      func(t *testing.T, clk *manualClock, alive chan<- struct{}, cancel func())
		wantErr  error
		wantCode int
		wantText string
	}{
		{"idle", func(t *testing.T, clk *manualClock, alive chan<- struct{}, _ func()) {
			clk.await(t, testIdle)
			// A sign of life asks for a fresh idle wait; that one ends it.
			alive <- struct{}{}
			clk.await(t, testIdle) <- time.Now()
		}, ErrIdle, websocket.CloseNormalClosure, ""},
		{"expired", func(t *testing.T, clk *manualClock, _ chan<- struct{}, _ func()) {
			clk.await(t, testLifetime) <- time.Now()
		}, ErrExpired, websocket.CloseNormalClosure, "ConnectionExpired: Reconnect to continue"},
		{"stopping", func(_ *testing.T, _ *manualClock, _ chan<- struct{}, cancel func()) {
			cancel()
		}, nil, websocket.CloseGoingAway, "ecsd is stopping"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, got := closeServer(t)
			clk := newManualClock()
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			alive := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				done <- c.Monitor(ctx, Limits{Clock: clk, Idle: testIdle, Lifetime: testLifetime}, alive, make(chan struct{}))
			}()
			tc.end(t, clk, alive, cancel)
			if err := <-done; err != tc.wantErr {
				t.Errorf("Monitor returned %v, want %v", err, tc.wantErr)
			}
			ce := <-got
			if ce == nil || ce.Code != tc.wantCode || ce.Text != tc.wantText {
				t.Errorf("server saw close %+v, want %d %q", ce, tc.wantCode, tc.wantText)
			}
		})
	}
}

func TestMonitorEndsWithTheReadLoop(t *testing.T) {
	c, _ := closeServer(t)
	readDone := make(chan struct{})
	close(readDone)
	err := c.Monitor(t.Context(), Limits{Clock: newManualClock(), Idle: testIdle, Lifetime: testLifetime}, nil, readDone)
	if err != nil {
		t.Errorf("Monitor returned %v after the read loop ended", err)
	}
	// The connection is still the caller's to close.
	if err := c.Write("Ping", []byte("{}")); err != nil {
		t.Errorf("write after Monitor: %v", err)
	}
}

func TestReadDeadline(t *testing.T) {
	c, _ := closeServer(t)
	start := time.Now()
	if _, _, err := c.Read(20 * time.Millisecond); err == nil {
		t.Fatal("read from a silent server returned")
	}
	if time.Since(start) > 5*time.Second {
		t.Error("the read deadline was not applied")
	}
}

func TestReconnectAtOnce(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{io.EOF, true},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), false},
		{ErrExpired, true},
		{fmt.Errorf("serve: %w", ErrExpired), true},
		{ErrIdle, false},
		{&websocket.CloseError{Code: websocket.CloseNormalClosure}, true},
		{&websocket.CloseError{Code: websocket.CloseGoingAway}, true},
		{&websocket.CloseError{Code: websocket.CloseAbnormalClosure}, true},
		{&websocket.CloseError{Code: websocket.CloseInternalServerErr}, true},
		{&websocket.CloseError{Code: websocket.ClosePolicyViolation}, false},
		{errors.New("dial: connection refused"), false},
		{nil, false},
	} {
		if got := ReconnectAtOnce(tc.err); got != tc.want {
			t.Errorf("%v: %v, want %v", tc.err, got, tc.want)
		}
	}
}
