package testenv

import (
	"context"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

const (
	motoStartTimeout = 30 * time.Second
	motoStartTries   = 3
	motoStopGrace    = 5 * time.Second

	// MotoRegion, MotoAccessKey and MotoSecretKey are what clients of a
	// test moto sign with; moto accepts any.
	MotoRegion    = "us-east-1"
	MotoAccessKey = "test"
	MotoSecretKey = "test"
)

// MotoInstance is a moto server (AWS service emulator) on loopback, owned
// by one test. Moto keeps everything in memory: a restart forgets it all.
type MotoInstance struct {
	Endpoint string // "http://127.0.0.1:PORT"
	Port     int
	LogPath  string

	d *daemon
}

// Moto starts `python3 -m moto.server` for the test in its own process
// group and waits until it answers. Cleanup stops it. It fails the test,
// never skips it, when python3 or moto is missing.
func Moto(t testing.TB) *MotoInstance {
	t.Helper()
	if out, err := exec.Command("python3", "-c", "import moto.server").CombinedOutput(); err != nil {
		t.Fatalf("testenv: moto server is not installed (pip install 'moto[server]'): %v\n%s", err, out)
	}
	m := &MotoInstance{LogPath: filepath.Join(t.TempDir(), "moto.log")}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: end of moto's log:\n%s", logTail(m.LogPath, 30))
		}
		if m.d != nil {
			if err := m.d.stop(motoStopGrace); err != nil {
				t.Errorf("testenv: stop moto: %v", err)
			}
		}
	})
	// The port can be taken between FreePort and moto's bind, so a moto
	// that exits early is retried on a new port.
	for try := 1; ; try++ {
		m.Port = FreePort(t)
		m.Endpoint = "http://127.0.0.1:" + strconv.Itoa(m.Port)
		err := m.start()
		if err == nil {
			return m
		}
		if m.d == nil || !m.d.exited() || try == motoStartTries {
			if m.d == nil {
				t.Fatalf("testenv: %v", err)
			}
			t.Fatal(m.d.failure(err.Error()))
		}
	}
}

// Credentials are static credentials moto accepts.
func (m *MotoInstance) Credentials() aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: MotoAccessKey, SecretAccessKey: MotoSecretKey, Source: "testenv moto"}, nil
	})
}

// Stop stops moto now (SIGTERM, then SIGKILL), for tests of an
// unreachable service; Restart brings it back on the same port.
func (m *MotoInstance) Stop(t testing.TB) {
	t.Helper()
	if m.d == nil {
		return
	}
	if err := m.d.stop(motoStopGrace); err != nil {
		t.Fatalf("testenv: stop moto: %v", err)
	}
	m.d = nil
}

// Restart stops moto if it runs and starts a fresh one on the same port,
// with no state.
func (m *MotoInstance) Restart(t testing.TB) {
	t.Helper()
	m.Stop(t)
	if err := m.start(); err != nil {
		if m.d == nil {
			t.Fatalf("testenv: %v", err)
		}
		t.Fatal(m.d.failure(err.Error()))
	}
}

func (m *MotoInstance) start() error {
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", strconv.Itoa(m.Port))
	d, err := startDaemon("moto", cmd, m.LogPath)
	if err != nil {
		return err
	}
	m.d = d
	return m.waitReady()
}

// waitReady polls moto's own API until it answers or the process exits.
func (m *MotoInstance) waitReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), motoStartTimeout)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}
	url := m.Endpoint + "/moto-api/"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		if m.d.exited() {
			return fmt.Errorf("moto exited on port %d: %w", m.Port, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("moto not answering on port %d after %s: %w", m.Port, motoStartTimeout, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
