package credentials

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestStoreAndRedaction(t *testing.T) {
	s := NewStore()
	c := Credentials{ID: "c1", TaskARN: "t1", RoleType: RoleTask, AccessKeyID: "ASIAX", SecretAccessKey: "very-secret", SessionToken: "tok"}
	s.Set(c)
	s.Set(Credentials{ID: "c2", TaskARN: "t1", RoleType: RoleExecution})
	if got, ok := s.Get("c1"); !ok || got.SecretAccessKey != "very-secret" {
		t.Fatalf("Get = %+v %v", got, ok)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "creds", c)
	if out := buf.String() + fmt.Sprint(c) + fmt.Sprintf("%v %+v", c, c); strings.Contains(out, "very-secret") || strings.Contains(out, "tok\"") {
		t.Errorf("secret in output: %s", out)
	}
	s.RemoveTask("t1")
	if _, ok := s.Get("c2"); ok {
		t.Error("RemoveTask left credentials")
	}
}

func TestForTask(t *testing.T) {
	s := NewStore()
	s.Set(Credentials{ID: "c1", TaskARN: "t1", RoleType: RoleTask, AccessKeyID: "A"})
	s.Set(Credentials{ID: "c2", TaskARN: "t1", RoleType: RoleExecution, AccessKeyID: "E"})
	if c, ok := s.ForTask("t1", RoleTask); !ok || c.ID != "c1" {
		t.Errorf("task role = %+v %v", c, ok)
	}
	if c, ok := s.ForTask("t1", RoleExecution); !ok || c.ID != "c2" {
		t.Errorf("execution role = %+v %v", c, ok)
	}
	if _, ok := s.ForTask("t2", RoleTask); ok {
		t.Error("found credentials of an unknown task")
	}
}
