// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package healthserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// logBuffer keeps the log lines Serve writes, for the address it bound.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var e struct{ Addr string }
	_ = json.Unmarshal([]byte(strings.SplitN(b.buf.String(), "\n", 2)[0]), &e)
	return e.Addr
}

func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	logs := &logBuffer{}
	var ready error = errors.New("caches not synced")
	var mu sync.Mutex
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, Config{
			Addr: "127.0.0.1:0", Gatherer: prometheus.NewRegistry(), Namespace: "secrets_store_test", Log: slog.New(slog.NewJSONHandler(logs, nil)),
			Ready: func(context.Context) error { mu.Lock(); defer mu.Unlock(); return ready },
		})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for logs.addr() == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	base := "http://" + logs.addr()
	cases := []struct {
		path   string
		ready  error
		status int
		body   string // a line the answer holds
	}{
		{"/healthz", nil, http.StatusOK, "ok"},
		{"/readyz", errors.New("caches not synced"), http.StatusServiceUnavailable, "caches not synced"},
		{"/readyz", nil, http.StatusOK, "ok"},
		{"/metrics", nil, http.StatusOK, `secrets_store_test_build_info{goversion="` + runtime.Version() + `",version="dev"} 1`},
	}
	for _, c := range cases {
		mu.Lock()
		ready = c.ready
		mu.Unlock()
		resp, err := http.Get(base + c.path)
		if err != nil {
			t.Fatalf("GET %s: %v", c.path, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("GET %s: %v", c.path, err)
		}
		if resp.StatusCode != c.status {
			t.Errorf("GET %s with ready=%v: %d, want %d", c.path, c.ready, resp.StatusCode, c.status)
		}
		if !slices.Contains(strings.Split(string(body), "\n"), c.body) {
			t.Errorf("GET %s with ready=%v: no line %q in\n%s", c.path, c.ready, c.body, body)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
}
