// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package plugin

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/nri/pkg/adaptation"
	"github.com/containerd/nri/pkg/api"
	validator "github.com/containerd/nri/plugins/default-validator"

	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/store/storetest"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
)

// runtime is the runtime's side of NRI as containerd embeds it (the NRI
// library's adaptation), on a socket of its own, with the default
// validator on, as the module's node configuration sets it.
func runtime(t *testing.T, socket string) *adaptation.Adaptation {
	t.Helper()
	sync := func(ctx context.Context, cb adaptation.SyncCB) error {
		_, err := cb(ctx, nil, nil)
		return err
	}
	update := func(context.Context, []*adaptation.ContainerUpdate) ([]*adaptation.ContainerUpdate, error) {
		return nil, nil
	}
	r, err := adaptation.New("containerd", "v2.4.2", sync, update,
		adaptation.WithSocketPath(socket), adaptation.WithPluginPath(t.TempDir()), adaptation.WithPluginConfigPath(t.TempDir()),
		adaptation.WithDefaultValidator(&validator.DefaultValidatorConfig{Enable: true}))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(); err != nil {
		t.Fatal(err)
	}
	return r
}

// eventually waits, at most a minute, for cond: connecting is asynchronous.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(time.Minute); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("not %s after a minute", what)
}

// syncBuffer is a log sink the server's goroutines and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServer: the plugin registers with NRI, gets a container's values
// into the runtime's adjustment, and connects again after the runtime
// restarts; while it is away, a pod that requires it (the annotation the
// webhook adds) cannot create containers.
func TestServer(t *testing.T) {
	srv := storetest.New(t)
	kubelet := t.TempDir()
	writeToken(t, kubelet, uid, storetest.JWT("demo", "app"))
	socket := filepath.Join(t.TempDir(), "nri.sock")
	r := runtime(t, socket)
	defer r.Stop()

	var logs syncBuffer
	m := NewMetrics()
	p := New(Config{KubeletRoot: kubelet, Defaults: params.Defaults{Address: srv.URL, AuthMount: "kubernetes"},
		Policy: storepolicy.Policy{DefaultAddress: srv.URL}, RequestTimeout: 5 * time.Second,
		Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}, m)
	// Dial keeps the connection, so that the test can cut it as a
	// containerd restart does.
	var mu sync.Mutex
	var conn net.Conn
	dial := func(socket string) (net.Conn, error) {
		c, err := net.Dial("unix", socket)
		mu.Lock()
		conn = c
		mu.Unlock()
		return c, err
	}
	s := NewServer(p, Connection{Socket: socket, Name: "secrets-store", Index: "50", Retry: 50 * time.Millisecond, Dial: dial})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	connected := func() bool { return s.Connected(ctx) == nil }
	defer p.Wait()
	eventually(t, "connected", connected)

	ann := optedIn()
	ann["required-plugins.noderesource.dev/pod"] = `["secrets-store"]`
	pod := &api.PodSandbox{Id: "sandbox-1", Name: "web", Namespace: "demo", Uid: uid, Annotations: ann}
	create := func(r *adaptation.Adaptation, id string) (*api.ContainerAdjustment, error) {
		if err := r.RunPodSandbox(ctx, &api.RunPodSandboxRequest{Pod: pod}); err != nil {
			t.Fatal(err)
		}
		resp, err := r.CreateContainer(ctx, &api.CreateContainerRequest{Pod: pod, Container: &api.Container{
			Id: id, PodSandboxId: pod.Id, Name: "app", Env: []string{"PATH=/bin", "PASSWORD=" + ref},
		}})
		return resp.GetAdjust(), err
	}
	adj, err := create(r, "c1")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if got := envOf(adj); !slices.Contains(got, "PASSWORD="+storetest.Password) {
		t.Errorf("adjustment %q lacks the value", got)
	}
	if !strings.Contains(logs.String(), `"msg":"connected"`) {
		t.Errorf("no connected line in the logs:\n%s", logs.String())
	}

	// containerd restarts: the connection ends, the plugin connects again.
	mu.Lock()
	conn.Close()
	mu.Unlock()
	eventually(t, "disconnected", func() bool { return !connected() })
	eventually(t, "connected again", connected)
	if _, err := create(r, "c2"); err != nil {
		t.Fatalf("create after the restart: %v", err)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	// Without the plugin the runtime refuses the container rather than
	// start it with the references as its values.
	eventually(t, "disconnected", func() bool { return !connected() })
	// The runtime learns of the closed connection on its own time; until
	// then it still lists the plugin (see docs: a window of the NRI
	// library).
	eventually(t, "refused by the validator", func() bool {
		_, err = create(r, "c3")
		return err != nil && strings.Contains(err.Error(), `required plugin "secrets-store" not present`)
	})
	if strings.Contains(logs.String(), storetest.Password) {
		t.Errorf("a value in the logs:\n%s", logs.String())
	}
}

// TestServerAnswersInTime: with a store that does not answer, the plugin
// refuses the container before the runtime's request timeout; a plugin
// that missed it would be dropped by the runtime and the container created
// with its references as values.
func TestServerAnswersInTime(t *testing.T) {
	// The body read first: only then does the server see the client go.
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	t.Cleanup(hang.Close)
	kubelet := t.TempDir()
	writeToken(t, kubelet, uid, storetest.JWT("demo", "app"))
	socket := filepath.Join(t.TempDir(), "nri.sock")
	adaptation.SetPluginRequestTimeout(time.Second)
	defer adaptation.SetPluginRequestTimeout(adaptation.DefaultPluginRequestTimeout)
	r := runtime(t, socket)
	defer r.Stop()

	p := New(Config{KubeletRoot: kubelet, Defaults: params.Defaults{Address: hang.URL, AuthMount: "kubernetes"},
		Policy: storepolicy.Policy{DefaultAddress: hang.URL}, RequestTimeout: time.Minute}, nil)
	defer p.Wait()
	s := NewServer(p, Connection{Socket: socket, Name: "secrets-store", Index: "50", Retry: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)
	eventually(t, "connected", func() bool { return s.Connected(ctx) == nil })

	pod := &api.PodSandbox{Id: "sandbox-1", Name: "web", Namespace: "demo", Uid: uid, Annotations: optedIn()}
	if err := r.RunPodSandbox(ctx, &api.RunPodSandboxRequest{Pod: pod}); err != nil {
		t.Fatal(err)
	}
	resp, err := r.CreateContainer(ctx, &api.CreateContainerRequest{Pod: pod, Container: &api.Container{
		Id: "c1", PodSandboxId: pod.Id, Name: "app", Env: []string{"PASSWORD=" + ref},
	}})
	if err == nil || !strings.Contains(err.Error(), `secrets-store: pod demo/web, container "app"`) {
		t.Fatalf("create: %v, adjustment %q; want the plugin's refusal", err, envOf(resp.GetAdjust()))
	}
	if s.Connected(ctx) != nil {
		t.Errorf("the runtime dropped the plugin")
	}
}
