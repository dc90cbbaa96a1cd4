// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/supervisor"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	// rotationInterval is the driver's least time between two fetches of a
	// mounted volume: short, so the demo shows a rotation quickly.
	rotationInterval = 2 * time.Second
	// importName is the SecretsStoreImport the pod's volume names.
	importName = "app"
	// cleanupTimeout bounds unpublishing after an error or Ctrl-C, when the
	// demo's context is already done.
	cleanupTimeout = 30 * time.Second
)

// pod is the pod whose volume the demo publishes, as kubelet knows it.
var pod = components.Pod{
	Name: "app-pod", Namespace: namespace, UID: "0de30de3-0000-4000-8000-000000000001",
	ServiceAccount: account, FSGroup: "1000",
}

// appImport is the SecretsStoreImport demo/app: one file per key, a
// template over the secret and the whole secret as JSON. Address and CA are
// left out: the provider's connection settings apply, as in a cluster.
var appImport = map[string]any{
	"type": "CSI", "role": role,
	"files": []any{
		map[string]any{"name": "username", "mode": 0o400, "source": map[string]any{"path": "secret/data/app", "key": "username"}},
		map[string]any{"name": "password", "source": map[string]any{"path": "secret/data/app", "key": "password"}},
		map[string]any{"name": "dsn", "template": "postgres://{{ .username }}:{{ .password }}@db:5432/app",
			"source": map[string]any{"path": "secret/data/app"}},
		map[string]any{"name": "app.json", "source": map[string]any{"path": "secret/data/app"}},
	},
}

// node is the module's node side as the demo runs it: the driver and the
// provider built from this repository, and kubelet's end of the driver's
// socket. Everything they make lives in work.
type node struct {
	work     string
	bins     components.Binaries
	provider *supervisor.Process
	driver   *supervisor.Process
	kubelet  *components.Kubelet
}

// startNode builds the driver and the provider and starts them. On error
// whatever it started is stopped.
func startNode(ctx context.Context, env *testenv.Env) (_ *node, err error) {
	step("Building the module's binaries (takes a while the first time)")
	work, err := os.MkdirTemp("", "ssi-demo-*")
	if err != nil {
		return nil, fmt.Errorf("make the demo's work folder: %w", err)
	}
	n := &node{work: work}
	defer func() {
		if err != nil {
			err = errors.Join(err, n.stop())
		}
	}()
	began := time.Now()
	bins, err := components.Build(ctx, filepath.Join(work, "bin"))
	if err != nil {
		return nil, err
	}
	n.bins = bins
	fmt.Printf("   built in %s\n", time.Since(began).Round(time.Second))

	step(fmt.Sprintf("Starting vault-provider and csi-driver (rotation interval %s)", rotationInterval))
	providers := filepath.Join(work, "providers")
	n.provider, err = components.StartProvider(ctx, components.ProviderConfig{
		Binary: bins.Provider, Socket: filepath.Join(providers, "vault.sock"),
		VaultAddr: env.VaultAddr, VaultCAPath: env.VaultCAPath,
		// No shared reads: the rotation below shows a new value at once.
		ReadCacheTTL: 0,
	})
	if err != nil {
		return nil, err
	}
	n.driver, err = components.StartDriver(ctx, components.DriverConfig{
		Binary: bins.Driver, Socket: filepath.Join(work, "csi.sock"), Kubeconfig: env.Kubeconfig,
		ProviderDir: providers, Provider: "vault", RotationInterval: rotationInterval,
	})
	if err != nil {
		return nil, err
	}
	fmt.Printf("   vault-provider pid %d on %s\n", n.provider.PID(), n.provider.Socket)
	fmt.Printf("   csi-driver pid %d on %s\n", n.driver.PID(), n.driver.Socket)
	n.kubelet, err = components.NewKubelet(env, n.driver.Socket, work)
	if err != nil {
		return nil, err
	}
	return n, nil
}

// stop stops the driver and the provider as kubelet stops containers,
// unmounts whatever is still mounted in the work folder and removes it.
func (n *node) stop() error {
	step("Stopping csi-driver and vault-provider")
	var errs []error
	if n.kubelet != nil {
		errs = append(errs, n.kubelet.Close())
	}
	// The driver first: it calls the provider.
	if n.driver != nil {
		errs = append(errs, n.driver.Stop())
	}
	if n.provider != nil {
		errs = append(errs, n.provider.Stop())
	}
	if err := components.UnmountAll(n.work); err != nil {
		errs = append(errs, fmt.Errorf("unmount what is left in %s: %w", n.work, err))
	}
	if err := os.RemoveAll(n.work); err != nil {
		errs = append(errs, fmt.Errorf("remove the work folder: %w", err))
	}
	return errors.Join(errs...)
}

// createImport creates SecretsStoreImport demo/app, as the application team
// would with kubectl apply.
func createImport(ctx context.Context, env *testenv.Env) error {
	step(fmt.Sprintf("Creating SecretsStoreImport %s/%s: username (mode 0400, the fsGroup adds group read), password, dsn (template), app.json (whole secret)", namespace, importName))
	if err := components.ApplyImport(ctx, env, namespace, importName, appImport); err != nil {
		return fmt.Errorf("create SecretsStoreImport %s/%s: %w", namespace, importName, err)
	}
	return nil
}

// publish plays kubelet starting the pod: NodePublishVolume with the pod's
// token, then shows what the pod would see in its volume.
func (n *node) publish(ctx context.Context, v components.Volume) error {
	step(fmt.Sprintf("Publishing the volume of pod %s/%s (ServiceAccount %s, fsGroup %s) as kubelet does",
		pod.Namespace, pod.Name, pod.ServiceAccount, pod.FSGroup))
	if err := n.kubelet.Publish(ctx, v, pod, importName); err != nil {
		return fmt.Errorf("publish the volume of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	return show(v)
}

// rotate changes the password in Vault and republishes the volume, as
// kubelet does periodically, until the driver has fetched the new value.
func (n *node) rotate(ctx context.Context, env *testenv.Env, v components.Volume) error {
	want := "rotated-password-" + time.Now().Format("150405")
	step("Changing the password in Vault")
	if _, err := env.Vault.KVv2(testenv.KVMount).Patch(ctx, secretPath, map[string]any{"password": want}); err != nil {
		return fmt.Errorf("change the password in secret/%s: %w", secretPath, err)
	}
	step(fmt.Sprintf("Waiting past the rotation interval (%s) and republishing, as kubelet does", rotationInterval))
	password := filepath.Join(v.Target, "password")
	deadline := time.Now().Add(rotationInterval + 20*time.Second)
	for attempt := 1; ; attempt++ {
		if err := testenv.Sleep(ctx, rotationInterval+500*time.Millisecond); err != nil {
			return fmt.Errorf("wait for the rotation interval: %w", err)
		}
		if err := n.kubelet.Publish(ctx, v, pod, importName); err != nil {
			return fmt.Errorf("republish the volume of pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		got, err := os.ReadFile(password)
		if err != nil {
			return fmt.Errorf("read the rotated password: %w", err)
		}
		if string(got) == want {
			fmt.Printf("   password = %s   (republish %d)\n", got, attempt)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the volume still holds password %q after %d republishes, want %q", got, attempt, want)
		}
	}
}

// unpublish plays kubelet when the pod is gone. It runs after an error or
// Ctrl-C too, so it does not use the demo's context.
func (n *node) unpublish(v components.Volume) error {
	step(fmt.Sprintf("Unpublishing the volume (pod %s/%s deleted)", pod.Namespace, pod.Name))
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	// After Ctrl-C the driver may still be finishing the publish it was
	// asked for; like kubelet, try again while it says so.
	for {
		err := n.kubelet.Unpublish(ctx, v)
		if err == nil {
			break
		}
		if status.Code(err) != codes.Aborted || testenv.Sleep(ctx, 200*time.Millisecond) != nil {
			return fmt.Errorf("unpublish the volume of pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
	}
	if _, mounted, err := components.MountAt(v.Target); err != nil {
		return err
	} else if mounted {
		return fmt.Errorf("%s is still mounted after unpublish", v.Target)
	}
	fmt.Println("   unmounted")
	return nil
}

// show prints the volume's mount and its files as `ls -ln` would (mode,
// owner and group ids), with each file's content (the demo's values are
// fake).
func show(v components.Volume) error {
	m, ok, err := components.MountAt(v.Target)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("nothing is mounted at %s after a successful publish", v.Target)
	}
	fmt.Printf("   %s on %s (%s)\n", m.FSType, m.Point, m.Options)
	entries, err := os.ReadDir(v.Target)
	if err != nil {
		return fmt.Errorf("list the volume: %w", err)
	}
	var names []string
	for _, e := range entries {
		// ..data and the timestamped folders are the volume's bookkeeping
		// for atomic updates; a reader sees the names linked into them.
		if !strings.HasPrefix(e.Name(), "..") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(v.Target, name)
		info, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("stat %s: %w", name, err)
		}
		content, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		st := info.Sys().(*syscall.Stat_t)
		fmt.Printf("   %s  %d %d  %-9s %s\n", info.Mode(), st.Uid, st.Gid, name, content)
	}
	return nil
}
