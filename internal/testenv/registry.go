package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/remotes"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"golang.org/x/crypto/bcrypt"
)

const (
	registryBin = "/usr/bin/docker-registry"
	// RegistryRepo is the repository Push writes to on a test registry.
	RegistryRepo = "ecsd-test/busybox"
	// RegistryUser is the user of an authenticated test registry.
	RegistryUser = "ecsd"

	registryStartTimeout = 20 * time.Second
	registryStartTries   = 3
	registryStopGrace    = 5 * time.Second
	pushTimeout          = time.Minute
)

// RegistryOptions configures a test registry.
type RegistryOptions struct {
	// Auth requires HTTP basic authentication (htpasswd) with Username and
	// a random Password.
	Auth bool
}

// RegistryInstance is a Docker Distribution registry serving plain HTTP on
// loopback, owned by one test.
type RegistryInstance struct {
	Host     string // "127.0.0.1:PORT"
	Username string // empty unless Auth
	Password string // empty unless Auth
	Dir      string // config, storage and log
	LogPath  string

	d *daemon
}

// Registry starts /usr/bin/docker-registry for the test and waits until
// GET /v2/ answers (200, or 401 with Auth). Cleanup stops it (SIGTERM, then
// SIGKILL); its directory is a t.TempDir.
func Registry(t testing.TB, opts RegistryOptions) *RegistryInstance {
	t.Helper()
	if _, err := os.Stat(registryBin); err != nil {
		t.Fatalf("testenv: %s not installed; run `make deps` (docker-registry): %v", registryBin, err)
	}
	dir := t.TempDir()
	r := &RegistryInstance{Dir: dir, LogPath: filepath.Join(dir, "registry.log")}
	if opts.Auth {
		r.Username = RegistryUser
		r.Password = randomHex(16)
		hash, err := bcrypt.GenerateFromPassword([]byte(r.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatalf("testenv: hash registry password: %v", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "htpasswd"), fmt.Appendf(nil, "%s:%s\n", r.Username, hash), 0o600); err != nil {
			t.Fatalf("testenv: write htpasswd: %v", err)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testenv: end of the registry's log:\n%s", logTail(r.LogPath, 30))
		}
		if r.d != nil {
			if err := r.d.stop(registryStopGrace); err != nil {
				t.Errorf("testenv: stop registry: %v", err)
			}
		}
	})

	// The port can be taken between FreePort and the registry's bind, so a
	// registry that exits early is retried on a new port.
	for try := 1; ; try++ {
		r.Host = "127.0.0.1:" + strconv.Itoa(FreePort(t))
		config := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(config, []byte(r.config(opts)), 0o644); err != nil {
			t.Fatalf("testenv: write registry config: %v", err)
		}
		d, err := startDaemon("docker-registry", exec.Command(registryBin, "serve", config), r.LogPath)
		if err != nil {
			t.Fatalf("testenv: %v", err)
		}
		r.d = d
		err = r.waitReady(opts)
		if err == nil {
			return r
		}
		if !d.exited() || try == registryStartTries {
			t.Fatal(d.failure(err.Error()))
		}
	}
}

// Stop stops the registry now, for tests of an unreachable registry; the
// cleanup then has nothing left to stop.
func (r *RegistryInstance) Stop(t testing.TB) {
	t.Helper()
	if err := r.d.stop(registryStopGrace); err != nil {
		t.Errorf("testenv: stop registry: %v", err)
	}
}

// config renders the registry's config.yml.
func (r *RegistryInstance) config(opts RegistryOptions) string {
	var b strings.Builder
	fmt.Fprintf(&b, `version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
  secret: %s
`, filepath.Join(r.Dir, "data"), r.Host, randomHex(16))
	if opts.Auth {
		fmt.Fprintf(&b, `auth:
  htpasswd:
    realm: ecsd-test
    path: %s
`, filepath.Join(r.Dir, "htpasswd"))
	}
	return b.String()
}

// waitReady polls GET /v2/ until it answers as configured.
func (r *RegistryInstance) waitReady(opts RegistryOptions) error {
	want := http.StatusOK
	if opts.Auth {
		want = http.StatusUnauthorized
	}
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(registryStartTimeout)
	var last string
	for {
		if r.d.exited() {
			return fmt.Errorf("exited before GET /v2/ answered on %s", r.Host)
		}
		resp, err := hc.Get("http://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == want {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET /v2/ on %s did not answer %d within %s (last: %s)", r.Host, want, registryStartTimeout, last)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Ref returns the reference Push gives a tag: "HOST/ecsd-test/busybox:TAG".
func (r *RegistryInstance) Ref(tag string) string {
	return r.Host + "/" + RegistryRepo + ":" + tag
}

// Resolver returns a plain-HTTP resolver for this registry that logs in
// with Username and Password.
func (r *RegistryInstance) Resolver() remotes.Resolver {
	return PlainHTTPResolver(r.Username, r.Password)
}

// PlainHTTPResolver returns a resolver that talks plain HTTP to every host
// and answers auth challenges with the given credentials (none when
// username and password are empty).
func PlainHTTPResolver(username, password string) remotes.Resolver {
	var authOpts []docker.AuthorizerOpt
	if username != "" || password != "" {
		authOpts = append(authOpts, docker.WithAuthCreds(func(string) (string, string, error) {
			return username, password, nil
		}))
	}
	return docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(
			docker.WithPlainHTTP(docker.MatchAllHosts),
			docker.WithAuthorizer(docker.NewDockerAuthorizer(authOpts...)),
		),
	})
}

// Push pushes every tag of set to this registry, straight from the set's
// content store, and returns tag → reference.
func (r *RegistryInstance) Push(t testing.TB, set *ImageSet) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), pushTimeout)
	defer cancel()
	resolver := r.Resolver()
	refs := map[string]string{}
	for _, tag := range ImageTags() {
		ref := r.Ref(tag)
		pusher, err := resolver.Pusher(ctx, ref)
		if err != nil {
			t.Fatalf("testenv: push %s: %v", ref, err)
		}
		if err := remotes.PushContent(ctx, pusher, set.Manifests[tag], set.Store, nil, nil, nil); err != nil {
			t.Fatalf("testenv: push %s: %v", ref, err)
		}
		refs[tag] = ref
	}
	return refs
}

// randomHex returns n random bytes as hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
