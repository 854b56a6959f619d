package wsclient

import (
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	b := NewBackoff(100*time.Millisecond, time.Second, 2, 0.5)
	step := 100 * time.Millisecond
	for i := range 8 {
		d := b.Next()
		if d < step || d >= step+step/2 {
			t.Errorf("wait %d = %v, want [%v, %v)", i, d, step, step+step/2)
		}
		step = min(time.Second, 2*step)
	}
	if step != time.Second {
		t.Fatalf("the series never reached its maximum: %v", step)
	}
	b.Reset()
	if d := b.Next(); d < 100*time.Millisecond || d >= 150*time.Millisecond {
		t.Errorf("after reset: %v", d)
	}
}

func TestBackoffWithoutJitterIsExact(t *testing.T) {
	b := NewBackoff(time.Second, 4*time.Second, 1.5, 0)
	for i, want := range []time.Duration{time.Second, 1500 * time.Millisecond, 2250 * time.Millisecond, 3375 * time.Millisecond, 4 * time.Second, 4 * time.Second} {
		if d := b.Next(); d != want {
			t.Errorf("wait %d = %v, want %v", i, d, want)
		}
	}
}

func TestJittered(t *testing.T) {
	if d := jittered(time.Second, 0); d != time.Second {
		t.Errorf("no jitter: %v", d)
	}
	for range 100 {
		if d := jittered(time.Second, time.Millisecond); d < time.Second || d >= time.Second+time.Millisecond {
			t.Fatalf("jittered = %v, want [1s, 1.001s)", d)
		}
	}
}
