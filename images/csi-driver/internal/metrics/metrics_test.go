package metrics

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestServe(t *testing.T) {
	m := New()
	m.PublishTotal.Inc()
	m.PublishErrors.WithLabelValues("provider_permission_denied").Inc()
	m.RotationTotal.WithLabelValues("changed").Inc()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Serve(ctx, addr, func() error { return nil }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	get := func(path string) string {
		var resp *http.Response
		for range 50 {
			if resp, err = http.Get("http://" + addr + path); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		return string(body)
	}
	if got := get("/healthz"); strings.TrimSpace(got) != "ok" {
		t.Errorf("/healthz = %q", got)
	}
	body := get("/metrics")
	for _, want := range []string{
		"secrets_store_csi_node_publish_total 1",
		`secrets_store_csi_node_publish_errors_total{reason="provider_permission_denied"} 1`,
		"secrets_store_csi_node_publish_duration_seconds_bucket",
		"secrets_store_csi_node_unpublish_total 0",
		`secrets_store_csi_rotation_total{result="changed"} 1`,
		"secrets_store_csi_rotation_duration_seconds_count",
		"process_resident_memory_bytes",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
