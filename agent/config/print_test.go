package config

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// goldenSources load a realistic host: both files, an environment
// override, a flag.
func goldenSources() Sources {
	return Sources{
		Files: []string{"testdata/golden/instance.config", "testdata/golden/ecs.config"},
		Env:   []string{"ECS_CONTAINER_STOP_TIMEOUT=2m", "PATH=/usr/bin"},
		Args:  []string{"--data-dir", "/srv/ecs"},
	}
}

func TestPrintGolden(t *testing.T) {
	c, p := load(t, goldenSources())
	var b bytes.Buffer
	if err := c.Print(&b, p); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "print.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		t.Errorf("Print differs from %s (go test -run TestPrintGolden -update rewrites it):\n%s", golden, got)
	}
	if strings.Contains(b.String(), "s3cr3t") {
		t.Error("Print shows the proxy password")
	}
}

// Print's lines, without their comments, are an ecs.config that loads back
// to the same Config.
func TestPrintRoundTrip(t *testing.T) {
	c, p := load(t, goldenSources())
	c.HTTPSProxy = "http://proxy.corp.example:3128" // no secret to lose in redaction
	var b bytes.Buffer
	if err := c.Print(&b, p); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for line := range strings.Lines(b.String()) {
		i := strings.LastIndex(line, "  # ")
		if i < 0 {
			t.Fatalf("line without a source: %q", line)
		}
		lines = append(lines, line[:i])
	}
	f := writeFile(t, "printed.config", strings.Join(lines, "\n"))
	back, _ := load(t, Sources{Files: []string{f}})
	if !reflect.DeepEqual(back, c) {
		t.Errorf("printed config loads back as\n%+v\nwant\n%+v", back, c)
	}
}

func TestRedacted(t *testing.T) {
	c, _ := load(t, Sources{Env: []string{"AWS_DEFAULT_REGION=us-east-1", "HTTPS_PROXY=http://u:pw-one@p:1", "HTTP_PROXY=u:pw-two@p:2"}})
	r := c.Redacted()
	if r.HTTPSProxy != "http://u:xxxxx@p:1" || r.HTTPProxy != "u:xxxxx@p:2" {
		t.Errorf("redacted proxies %q, %q", r.HTTPSProxy, r.HTTPProxy)
	}
	if c.HTTPSProxy != "http://u:pw-one@p:1" {
		t.Errorf("Redacted changed the original: %q", c.HTTPSProxy)
	}
	r.HTTPSProxy, r.HTTPProxy = c.HTTPSProxy, c.HTTPProxy
	if !reflect.DeepEqual(r, c) {
		t.Error("Redacted changed more than the proxies")
	}

	var b bytes.Buffer
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "config", c)
	out := b.String()
	if strings.Contains(out, "pw-one") || strings.Contains(out, "pw-two") || !strings.Contains(out, "config.HTTPS_PROXY=http://u:xxxxx@p:1") {
		t.Errorf("log line: %s", out)
	}
}

func TestStringRedacted(t *testing.T) {
	c, _ := load(t, Sources{Env: []string{"AWS_DEFAULT_REGION=us-east-1", "HTTPS_PROXY=http://u:pw-secret@p:1", "ECS_CONTAINER_INSTANCE_TAGS={\"a\":\"b c\"}"}})
	for _, s := range []string{c.String(), fmt.Sprint(c), fmt.Sprintf("%v %+v %s", c, c, &c)} {
		if strings.Contains(s, "pw-secret") || !strings.Contains(s, "HTTPS_PROXY=http://u:xxxxx@p:1") {
			t.Errorf("printed: %s", s)
		}
	}
	if !strings.Contains(c.String(), ` ECS_CONTAINER_INSTANCE_TAGS="{\"a\":\"b c\"}" `) {
		t.Errorf("String: %s", c)
	}
}
