package packaging

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecsd-project/ecsd/controlplane"
	"github.com/ecsd-project/ecsd/ssm"
)

const region = "us-east-1"

func repoRoot(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// buildEcsd builds the real ecsd into a temp dir.
func buildEcsd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ecsd")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ecsd")
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build ecsd: %v\n%s", err, out)
	}
	return bin
}

func TestUnitVerifies(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is required: apt-get install systemd")
	}
	unit, err := os.ReadFile("systemd/ecsd.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Type=notify", "WatchdogSec=", "Restart=on-failure", "RestartPreventExitStatus=5",
		"KillMode=process", "LimitNOFILE=", "containerd.service", "network-online.target", "ExecStart=/usr/bin/ecsd run"} {
		if !bytes.Contains(unit, []byte(want)) {
			t.Errorf("unit lacks %q", want)
		}
	}
	// verify checks that ExecStart exists; point it at a real executable.
	dir := t.TempDir()
	fake := filepath.Join(dir, "ecsd")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit = bytes.ReplaceAll(unit, []byte("/usr/bin/ecsd"), []byte(fake))
	path := filepath.Join(dir, "ecsd.service")
	if err := os.WriteFile(path, unit, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

func TestScriptsParse(t *testing.T) {
	scripts := []string{"install.sh", "scripts/postinstall.sh", "scripts/preremove.sh"}
	for _, s := range scripts {
		if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
	}
	if sc, err := exec.LookPath("shellcheck"); err == nil {
		if out, err := exec.Command(sc, scripts...).CombinedOutput(); err != nil {
			t.Errorf("shellcheck: %v\n%s", err, out)
		}
	} else {
		t.Log("shellcheck not installed; bash -n only")
	}
}

func TestPackages(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "ecsd")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho fake ecsd\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "dist")
	cmd := exec.Command("go", "run", "./packaging/mkpkg", "--version", "v1.2.0-3-gabcdef-dirty", "--arch", "amd64",
		"--binary", fake, "--out", out)
	cmd.Dir = repoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mkpkg: %v\n%s", err, b)
	}
	deb := filepath.Join(out, "ecsd_1.2.0+3.gabcdef.dirty_amd64.deb")
	rpm := filepath.Join(out, "ecsd_1.2.0+3.gabcdef.dirty_amd64.rpm")

	info, err := exec.Command("dpkg-deb", "--info", deb).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb --info: %v\n%s", err, info)
	}
	for _, want := range []string{"Package: ecsd", "Version: 1.2.0+3.gabcdef.dirty-1", "Architecture: amd64",
		"Depends: containerd | containerd.io, runc, containernetworking-plugins, iptables", "postinst", "prerm", "conffiles"} {
		if !bytes.Contains(info, []byte(want)) {
			t.Errorf("deb info lacks %q:\n%s", want, info)
		}
	}
	contents, err := exec.Command("dpkg-deb", "--contents", deb).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb --contents: %v\n%s", err, contents)
	}
	modes := map[string]string{}
	for _, line := range strings.Split(string(contents), "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 {
			modes[strings.TrimSuffix(strings.TrimPrefix(f[5], "."), "/")] = f[0]
		}
	}
	for path, mode := range map[string]string{
		"/usr/bin/ecsd":                    "-rwxr-xr-x",
		"/lib/systemd/system/ecsd.service": "-rw-r--r--",
		"/etc/ecs/ecs.config":              "-rw-r--r--",
		"/var/lib/ecs/data":                "drwx------",
	} {
		if modes[path] != mode {
			t.Errorf("deb %s: mode %q, want %q", path, modes[path], mode)
		}
	}
	if _, ok := modes["/usr/bin/ecs-local"]; ok {
		t.Error("deb carries ecs-local")
	}
	ctl := t.TempDir()
	if b, err := exec.Command("dpkg-deb", "--control", deb, ctl).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --control: %v\n%s", err, b)
	}
	if b, _ := os.ReadFile(filepath.Join(ctl, "conffiles")); strings.TrimSpace(string(b)) != "/etc/ecs/ecs.config" {
		t.Errorf("conffiles = %q", b)
	}

	// rpm: no Go rpm reader is in the module graph, so check the lead and
	// header magic and the strings the header must carry.
	b, err := os.ReadFile(rpm)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte{0xed, 0xab, 0xee, 0xdb}) {
		t.Fatalf("rpm lead magic: % x", b[:4])
	}
	if !bytes.Contains(b[:min(len(b), 4096)], []byte{0x8e, 0xad, 0xe8}) {
		t.Error("rpm has no header magic")
	}
	for _, want := range []string{"ecsd", "1.2.0+3.gabcdef.dirty", "x86_64", "/usr/lib/systemd/system/", "ecsd.service",
		"/etc/ecs/", "ecs.config", "containernetworking-plugins", "runc", "iptables", "containerd"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("rpm header lacks %q", want)
		}
	}
	if bytes.Contains(b, []byte("/lib/systemd/system/ecsd.service")) && !bytes.Contains(b, []byte("/usr/lib/systemd/system/")) {
		t.Error("rpm unit not under /usr/lib/systemd/system")
	}
}

// TestInstallScript runs install.sh against an in-process ecs-local with
// every host-changing step replaced by the script's test hooks.
func TestInstallScript(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ecsd := buildEcsd(t)

	cpDir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + ln.Addr().String()
	local, err := controlplane.NewLocal(controlplane.Config{DataDir: cpDir, Region: region, Endpoint: endpoint,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: local, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); local.Close() })

	ac, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region),
		awsconfig.WithSharedCredentialsFiles([]string{filepath.Join(cpDir, "credentials")}),
		awsconfig.WithSharedConfigFiles([]string{filepath.Join(cpDir, "config")}))
	if err != nil {
		t.Fatal(err)
	}
	client := awsssm.NewFromConfig(ac, func(o *awsssm.Options) { o.BaseEndpoint = aws.String(endpoint) })
	act, err := client.CreateActivation(ctx, &awsssm.CreateActivationInput{IamRole: aws.String("ecsAnywhereRole"), RegistrationLimit: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	id, code := aws.ToString(act.ActivationId), aws.ToString(act.ActivationCode)

	cfgDir, stateRoot := t.TempDir(), filepath.Join(t.TempDir(), "ssm")
	if err := os.WriteFile(filepath.Join(cfgDir, "ecs.config"), []byte("ECS_LOGLEVEL=debug\nECS_CLUSTER=old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	install := func(code string) (string, error) {
		cmd := exec.CommandContext(ctx, "bash", "install.sh", "--region", region, "--cluster", "prod",
			"--activation-id", id, "--activation-code", code, "--endpoint", endpoint, "--no-start")
		cmd.Env = append(os.Environ(), "ECSD_INSTALL_SKIP_PACKAGES=1", "ECSD_INSTALL_SKIP_ROOT_CHECK=1",
			"ECSD_BIN="+ecsd, "ECSD_CONFIG_DIR="+cfgDir, "ECSD_STATE_ROOT="+stateRoot, "SYSTEMCTL=/bin/false")
		out, err := cmd.CombinedOutput()
		if strings.Contains(string(out), code) {
			t.Errorf("install.sh printed the activation code:\n%s", out)
		}
		return string(out), err
	}

	// A wrong code fails clearly and registers nothing.
	wrong := "WrongCode" + strings.Repeat("x", 11)
	out, err := install(wrong)
	if err == nil || !strings.Contains(out, "registration failed") {
		t.Fatalf("wrong code: err %v, output:\n%s", err, out)
	}
	if _, err := ssm.LoadRegistration(stateRoot); !errors.Is(err, ssm.ErrNotRegistered) {
		t.Fatalf("after a wrong code: registration %v, want %v", err, ssm.ErrNotRegistered)
	}

	out, err = install(code)
	if err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	if _, err := ssm.LoadRegistration(stateRoot); err != nil {
		t.Fatalf("after install: %v\n%s", err, out)
	}
	cfg, err := os.ReadFile(filepath.Join(cfgDir, "ecs.config"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ECS_LOGLEVEL=debug\n", "ECS_CLUSTER=prod\n", "AWS_DEFAULT_REGION=" + region + "\n",
		"ECS_BACKEND_HOST=" + endpoint + "\n", "ECSD_SSM_ENDPOINT=" + endpoint + "\n"} {
		if !strings.Contains(string(cfg), want) {
			t.Errorf("ecs.config lacks %q:\n%s", want, cfg)
		}
	}
	if strings.Contains(string(cfg), "ECS_CLUSTER=old") {
		t.Errorf("ecs.config kept the old cluster:\n%s", cfg)
	}
	manifest := filepath.Join(stateRoot, "Vault", "Manifest")
	st, err := os.Stat(manifest)
	if err != nil {
		t.Fatalf("no registration: %v\n%s", err, out)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("registration manifest mode %v, want 0600", st.Mode().Perm())
	}
	before, _ := os.ReadFile(manifest)

	out, err = install(code)
	if err != nil || !strings.Contains(out, "already registered") {
		t.Fatalf("second install: err %v, output:\n%s", err, out)
	}
	after, _ := os.ReadFile(manifest)
	if !bytes.Equal(before, after) {
		t.Error("second install changed the registration")
	}
}
