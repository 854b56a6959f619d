package logs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestNewRefuses(t *testing.T) {
	tg := Target{TaskID: "t1", ContainerName: "web", ContainerID: "c1", Dir: t.TempDir(), Region: "us-east-1"}
	tests := []struct {
		name    string
		cfg     Config
		enabled []string
		want    []string // in the error
	}{
		{"unknown driver", Config{Driver: "syslog"}, nil, []string{`"syslog"`, "does not implement", "json-file, journald, awslogs, none"}},
		{"disabled driver", Config{Driver: "awslogs"}, []string{"json-file", "none"}, []string{`"awslogs" is not enabled`, "ECS_AVAILABLE_LOGGING_DRIVERS", "enabled: json-file, none"}},
		{"json-file named but disabled", Config{Driver: "json-file"}, []string{"none"}, []string{`"json-file" is not enabled`}},
		{"json-file unknown option", Config{Options: map[string]string{"compress": "true"}}, nil, []string{`unsupported option "compress"`, "max-file, max-size"}},
		{"json-file bad size", Config{Options: map[string]string{"max-size": "ten"}}, nil, []string{`max-size "ten"`}},
		{"json-file max-file alone", Config{Options: map[string]string{"max-file": "3"}}, nil, []string{"max-file 3 needs max-size"}},
		{"none with options", Config{Driver: "none", Options: map[string]string{"x": "y"}}, nil, []string{`unsupported option "x"`}},
		{"awslogs every problem", Config{Driver: "awslogs", Options: map[string]string{"mode": "fast", "awslogs-create-group": "yes", "ecsd-spool-max-bytes": "-1"}}, nil,
			[]string{"awslogs-group is required", `mode "fast"`, `awslogs-create-group "yes"`, `ecsd-spool-max-bytes "-1"`, "no credentials"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := tg
			tg.Enabled = tt.enabled
			l, err := New(context.Background(), tt.cfg, tg)
			if err == nil {
				l.Close()
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, ErrDriver) {
				t.Errorf("error does not wrap ErrDriver: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestDefaultDriver: without a logConfiguration a container gets json-file,
// even when the list leaves it out.
func TestDefaultDriver(t *testing.T) {
	tg := jsonTarget(t)
	tg.Enabled = []string{"awslogs"}
	l := newTest(t, Config{}, tg)
	if _, ok := l.(*logger).sink.(*jsonFile); !ok {
		t.Errorf("default driver is %T, want json-file", l.(*logger).sink)
	}
}

func TestNoneDiscards(t *testing.T) {
	l := newTest(t, Config{Driver: "none"}, Target{})
	fmt.Fprintln(l.Stdout(), "gone")
	if err := l.Close(); err != nil || l.Dropped() != 0 {
		t.Errorf("Close: %v, dropped %d", err, l.Dropped())
	}
}

func TestNewRefusesPathNames(t *testing.T) {
	for _, name := range []string{"..", "a/b"} {
		if l, err := New(context.Background(), Config{}, Target{ContainerName: name, Dir: t.TempDir()}); err == nil {
			l.Close()
			t.Errorf("container name %q accepted", name)
		}
	}
}

func TestPaths(t *testing.T) {
	if got := ContainerDir("/var/lib/ecs/data", "abc", "web"); got != "/var/lib/ecs/data/logs/abc/web" {
		t.Errorf("ContainerDir = %s", got)
	}
	if got := JSONFilePath("/d", "web"); got != "/d/web.log" {
		t.Errorf("JSONFilePath = %s", got)
	}
	for in, want := range map[string]string{
		"arn:aws:ecs:us-east-1:123456789012:task/prod/abc": "abc",
		"arn:aws:ecs:us-east-1:123456789012:task/abc":      "abc",
		"abc": "abc",
	} {
		if got := TaskID(in); got != want {
			t.Errorf("TaskID(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"512": 512, "100k": 100 << 10, "10m": 10 << 20, "1g": 1 << 30, "10M": 10 << 20, "1.5k": 1536, "64MiB": 64 << 20, "2kb": 2048, "7b": 7} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "m", "ten", "-1m", "1t", "nan", "0x10"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
}
