package wsclient

import (
	"context"
	"reflect"
	"testing"
	"time"
)

func TestSettingsFill(t *testing.T) {
	var s Settings
	s.Fill(250*time.Millisecond, 2*time.Minute, 1.5)
	want := Settings{
		HandshakeTimeout: DefaultHandshakeTimeout, ReadTimeout: DefaultReadTimeout, WriteTimeout: DefaultWriteTimeout,
		ConnectionLifetime: DefaultConnectionLifetime, LifetimeJitter: DefaultLifetimeJitter,
		BackoffMin: 250 * time.Millisecond, BackoffMax: 2 * time.Minute, BackoffMultiplier: 1.5, BackoffJitter: DefaultBackoffJitter,
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("filled:\n got %+v\nwant %+v", s, want)
	}
	set := Settings{HandshakeTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 3 * time.Second,
		ConnectionLifetime: 4 * time.Second, LifetimeJitter: 5 * time.Second,
		BackoffMin: 6 * time.Second, BackoffMax: 7 * time.Second, BackoffMultiplier: 3, BackoffJitter: 0.5}
	got := set
	got.Fill(time.Hour, time.Hour, 9)
	if !reflect.DeepEqual(got, set) {
		t.Errorf("Fill overwrote set fields:\n got %+v\nwant %+v", got, set)
	}
	// A multiplier of 1 or less would never grow: it takes the default.
	low := Settings{BackoffMultiplier: 1}
	low.Fill(time.Second, time.Minute, 2)
	if low.BackoffMultiplier != 2 {
		t.Errorf("multiplier 1 kept: %v", low.BackoffMultiplier)
	}
}

func TestSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	if err := Sleep(ctx, SystemClock{}, 0); err != nil {
		t.Errorf("no wait: %v", err)
	}
	if err := Sleep(ctx, SystemClock{}, time.Millisecond); err != nil {
		t.Errorf("short wait: %v", err)
	}
	cancel()
	start := time.Now()
	if err := Sleep(ctx, SystemClock{}, time.Hour); err != context.Canceled {
		t.Errorf("cancelled: %v", err)
	}
	if time.Since(start) > time.Minute {
		t.Error("a cancelled sleep waited")
	}
}
