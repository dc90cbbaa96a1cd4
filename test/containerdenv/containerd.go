// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package containerdenv runs a real container runtime for the tests:
// containerd (built by test/tools/build.sh) as root with its CRI plugin,
// runc as the runtime with cgroupfs, NRI enabled on a socket of its own and
// images built here with go-containerregistry (a pause image and one that
// prints its environment) imported into the CRI namespace. Everything lives
// in one folder: containerd's root and state, its sockets, the pods' logs and
// a kubelet root for projected tokens. The tests play kubelet over the CRI
// API (RunPodSandbox, CreateContainer, StartContainer), as in a node.
package containerdenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/supervisor"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// Binaries the runtime needs, as test/tools/build.sh links them.
var binaryNames = []string{"containerd", "containerd-shim-runc-v2", "ctr", "runc"}

// DefaultPluginRequestTimeout is containerd's bound of one NRI call here:
// long enough for a store login, a read of ten references and a revoke.
const DefaultPluginRequestTimeout = 20 * time.Second

// callTimeout bounds one CRI call; creating a container waits for the NRI
// plugins, so it is above DefaultPluginRequestTimeout.
const callTimeout = 45 * time.Second

// Options tune Start.
type Options struct {
	// Dir is the folder Start makes its own folder in; empty: the system's.
	Dir string
	// BinDir holds the binaries; default: testenv.BinDir().
	BinDir string
	// PluginRequestTimeout is NRI's plugin_request_timeout; zero:
	// DefaultPluginRequestTimeout.
	PluginRequestTimeout time.Duration
	// Log receives containerd's log lines; nil drops them.
	Log io.Writer
}

// Runtime is a running containerd with its CRI clients. Its fields are
// read-only.
type Runtime struct {
	// Dir holds everything below.
	Dir string
	// Root and State are containerd's root (images, snapshots, meta.db)
	// and state (tasks' bundles, sockets) folders.
	Root, State string
	// Socket is containerd's gRPC socket (CRI and its own API).
	Socket string
	// NRISocket is where NRI plugins connect.
	NRISocket string
	// Logs is the folder of the pods' log folders.
	Logs string
	// KubeletRoot stands for kubelet's root folder (/var/lib/kubelet):
	// pods/<uid>/volumes/... under it.
	KubeletRoot string
	// Snapshotter unpacks the images: overlayfs, as on nodes, unless Dir
	// is itself on overlayfs (a container's file system), where it cannot
	// mount; then native, which copies.
	Snapshotter string
	// PauseImage is the sandbox image; EnvImage prints its environment.
	PauseImage, EnvImage string

	// Runtime and Images are CRI clients on Socket.
	Runtime runtimeapi.RuntimeServiceClient
	Images  runtimeapi.ImageServiceClient

	// Process is containerd.
	Process *supervisor.Process

	conn *grpc.ClientConn
}

// Start checks it runs as root, starts containerd, imports the images and
// returns once the CRI answers with the runtime ready. On error nothing is
// left running. Call Stop when done.
func Start(ctx context.Context, o Options) (_ *Runtime, err error) {
	if os.Geteuid() != 0 {
		return nil, ErrNotRoot
	}
	bins, err := findBinaries(o.BinDir)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(o.Dir, "ssi-containerd-*")
	if err != nil {
		return nil, fmt.Errorf("make containerd's folder: %w", err)
	}
	r := &Runtime{
		Dir: dir, Root: filepath.Join(dir, "root"), State: filepath.Join(dir, "state"),
		Socket: filepath.Join(dir, "containerd.sock"), NRISocket: filepath.Join(dir, "nri.sock"),
		Logs: filepath.Join(dir, "pods"), KubeletRoot: filepath.Join(dir, "kubelet"),
		PauseImage: PauseImage, EnvImage: EnvImage, Snapshotter: snapshotterFor(dir),
	}
	defer func() {
		if err != nil {
			_ = r.Stop()
		}
	}()
	for _, d := range []string{r.Root, r.State, r.Logs, r.KubeletRoot} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("make %s: %w", d, err)
		}
	}
	timeout := o.PluginRequestTimeout
	if timeout == 0 {
		timeout = DefaultPluginRequestTimeout
	}
	config := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(config, []byte(r.config(bins["runc"], timeout)), 0o600); err != nil {
		return nil, fmt.Errorf("write containerd's config: %w", err)
	}

	r.Process = &supervisor.Process{
		Name: "containerd", Bin: bins["containerd"], Args: []string{"--config", config, "--log-level", "info"},
		// The shim is found on PATH, as on a node.
		Env: append(os.Environ(), "PATH="+filepath.Dir(bins["containerd-shim-runc-v2"])+":"+os.Getenv("PATH")),
		Out: o.Log, Socket: r.Socket,
	}
	r.Process.Ready = func(ctx context.Context, run *supervisor.Run) error {
		return run.Poll(ctx, "the CRI runtime ready", r.runtimeReady)
	}
	if r.conn, err = grpc.NewClient("unix://"+r.Socket, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
		return nil, fmt.Errorf("connect to containerd: %w", err)
	}
	r.Runtime = runtimeapi.NewRuntimeServiceClient(r.conn)
	r.Images = runtimeapi.NewImageServiceClient(r.conn)
	if err := r.Process.Start(ctx); err != nil {
		return nil, err
	}
	if err := r.importImages(ctx, bins["ctr"]); err != nil {
		return nil, err
	}
	return r, nil
}

// ErrNotRoot: containerd and runc need root here.
var ErrNotRoot = errors.New("containerd and runc run containers as root only: run the tests as root")

// runtimeReady is nil once the CRI reports RuntimeReady (the network is
// never ready: no CNI runs, and host-network pods need none).
func (r *Runtime) runtimeReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	st, err := r.Runtime.Status(ctx, &runtimeapi.StatusRequest{})
	if err != nil {
		return err
	}
	for _, c := range st.GetStatus().GetConditions() {
		if c.Type == runtimeapi.RuntimeReady && c.Status {
			return nil
		}
	}
	return fmt.Errorf("runtime not ready: %v", st.GetStatus().GetConditions())
}

// config is containerd's configuration (version 3, containerd 2.x): its
// folders and sockets in r.Dir, the CRI with r.Snapshotter, the
// local pause image and runc with cgroupfs, NRI on with its socket here, its
// default validator on and no plugin started by containerd itself (the
// tests start theirs).
func (r *Runtime) config(runc string, pluginTimeout time.Duration) string {
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	return strings.Join([]string{
		`version = 3`,
		`root = ` + q(r.Root),
		`state = ` + q(r.State),
		`[grpc]`,
		`  address = ` + q(r.Socket),
		`[ttrpc]`,
		`  address = ` + q(r.Socket+".ttrpc"),
		// ctr import unpacks through the transfer service, for the
		// platforms and snapshotter listed here (default: overlayfs only).
		`[[plugins.'io.containerd.transfer.v1.local'.unpack_config]]`,
		`  platform = ` + q("linux/"+runtime.GOARCH),
		`  snapshotter = ` + q(r.Snapshotter),
		`[plugins.'io.containerd.cri.v1.images']`,
		`  snapshotter = ` + q(r.Snapshotter),
		`  [plugins.'io.containerd.cri.v1.images'.pinned_images]`,
		`    sandbox = ` + q(PauseImage),
		`[plugins.'io.containerd.cri.v1.runtime']`,
		`  enable_selinux = false`,
		// The sandbox asks for oom_score_adj -998, which only a process
		// with CAP_SYS_RESOURCE in the host's user namespace may set; this
		// clamps it to containerd's own, as in rootless or nested nodes.
		`  restrict_oom_score_adj = true`,
		`  [plugins.'io.containerd.cri.v1.runtime'.containerd]`,
		`    default_runtime_name = "runc"`,
		`    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]`,
		`      runtime_type = "io.containerd.runc.v2"`,
		`      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]`,
		`        BinaryName = ` + q(runc),
		`        SystemdCgroup = false`,
		`        Root = ` + q(filepath.Join(r.State, "runc")),
		`[plugins.'io.containerd.nri.v1.nri']`,
		`  disable = false`,
		`  socket_path = ` + q(r.NRISocket),
		`  plugin_path = ` + q(filepath.Join(r.Dir, "nri-plugins")),
		`  plugin_config_path = ` + q(filepath.Join(r.Dir, "nri-conf")),
		`  plugin_registration_timeout = "5s"`,
		`  plugin_request_timeout = ` + q(pluginTimeout.String()),
		// The default validator refuses a container whose pod names a
		// required plugin (required-plugins.noderesource.dev) that is not
		// connected: creation fails closed while the plugin is down.
		`  [plugins.'io.containerd.nri.v1.nri'.default_validator]`,
		`    enable = true`,
		``,
	}, "\n")
}

// Stop removes every pod sandbox (their containers and shims go with them),
// stops containerd and removes the folder.
func (r *Runtime) Stop() error {
	var errs []error
	if r.conn != nil {
		if r.Process != nil {
			if exited, _ := r.Process.Exited(); !exited {
				errs = append(errs, r.RemoveAllPods(context.Background()))
			}
		}
		errs = append(errs, r.conn.Close())
	}
	if r.Process != nil {
		errs = append(errs, r.Process.Stop())
	}
	// Snapshots are mounted while a container exists; a test that failed
	// half-way may leave one.
	errs = append(errs, components.UnmountAll(r.Dir), os.RemoveAll(r.Dir))
	return errors.Join(errs...)
}

// findBinaries looks up the runtime's binaries where testenv finds its own.
func findBinaries(dir string) (map[string]string, error) {
	if dir == "" {
		var err error
		if dir, err = testenv.BinDir(); err != nil {
			return nil, err
		}
	}
	bins := map[string]string{}
	for _, name := range binaryNames {
		path := filepath.Join(dir, name)
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("runtime binary %s: %w (build it with `test/tools/build.sh containerd runc` or `make test-servers`)", path, err)
		}
		bins[name] = path
	}
	return bins, nil
}

// PluginRegistrations counts the times containerd has logged NRI plugin
// name ("<index>-<name>") as connected and synchronized: from then on it
// calls the plugin for every container.
func (r *Runtime) PluginRegistrations(name string) int {
	line := fmt.Sprintf(`plugin \"%s\" connected and synchronized`, name)
	n := 0
	for _, l := range r.Process.Logs() {
		if strings.Contains(l, line) {
			n++
		}
	}
	return n
}

// WaitPluginRegistered waits until containerd has registered plugin name
// more than before times: a plugin logs that it is connected when containerd
// configures it, a moment before containerd adds it to the plugins it calls.
func (r *Runtime) WaitPluginRegistered(ctx context.Context, name string, before int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for r.PluginRegistrations(name) <= before {
		select {
		case <-ctx.Done():
			return fmt.Errorf("containerd has not registered NRI plugin %s: %w", name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// overlayfsMagic is statfs's f_type of an overlay file system.
const overlayfsMagic = 0x794c7630

// snapshotterFor picks the snapshotter for a root folder in dir.
func snapshotterFor(dir string) string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err == nil && st.Type == overlayfsMagic {
		return "native"
	}
	return "overlayfs"
}
