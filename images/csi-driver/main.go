// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Command csi-driver is the CSI node plugin secrets-store.csi.deckhouse.io:
// it mounts a tmpfs for each ephemeral inline volume, asks a provider for
// the files a SecretsStoreImport names and writes them atomically.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/dynamic"

	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/driver"
	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/imports"
	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/metrics"
	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/providerclient"
	"github.com/deckhouse/secrets-store-integration/images/csi-driver/internal/tmpfs"
	"github.com/deckhouse/secrets-store-integration/images/internal/buildinfo"
	"github.com/deckhouse/secrets-store-integration/images/internal/daemon"
	"github.com/deckhouse/secrets-store-integration/images/internal/healthserver"
	"github.com/deckhouse/secrets-store-integration/images/internal/kubeclient"
	"github.com/deckhouse/secrets-store-integration/images/internal/unixsocket"
)

type options struct {
	endpoint         string
	nodeID           string
	kubeconfig       string
	providerDir      string
	provider         string
	rotationInterval time.Duration
	timeout          time.Duration
	metricsAddr      string
	logLevel         string
	tmpfsSize        string
	tmpfsInodes      int64
}

// The module settings that set --tmpfs-size and --tmpfs-inodes, named in
// the error of a volume that does not fit.
const (
	sizeSetting   = "volumeSizeLimit"
	inodesSetting = "volumeInodeLimit"
)

func main() {
	var o options
	flag.StringVar(&o.endpoint, "endpoint", "unix:///csi/csi.sock", "CSI endpoint (unix socket) kubelet calls")
	flag.StringVar(&o.nodeID, "nodeid", "", "name of this node (required)")
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file; empty means the in-cluster configuration")
	flag.StringVar(&o.providerDir, "provider-dir", "/var/run/secrets-store-csi-providers", "folder of the providers' unix sockets")
	flag.StringVar(&o.provider, "provider", "vault", "provider name; its socket is <provider-dir>/<provider>.sock")
	flag.DurationVar(&o.rotationInterval, "rotation-interval", 2*time.Minute, "least time between two fetches of a mounted volume")
	flag.DurationVar(&o.timeout, "timeout", time.Minute, "bound of each API read and provider call")
	flag.StringVar(&o.metricsAddr, "metrics-addr", ":8095", "address of /metrics and /healthz; empty turns them off")
	flag.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	flag.StringVar(&o.tmpfsSize, "tmpfs-size", "8Mi", "size= of each volume's tmpfs (a quantity such as 8Mi); a rotation needs room for two copies of the files")
	flag.Int64Var(&o.tmpfsInodes, "tmpfs-inodes", 1024, "nr_inodes= of each volume's tmpfs: files, folders and links; a rotation needs room for two copies")
	buildinfo.AddFlag(flag.CommandLine, "csi-driver")
	flag.Parse()
	daemon.Main("csi-driver", o.logLevel, func(ctx context.Context, log *slog.Logger) error { return run(ctx, o, log) })
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	if o.nodeID == "" {
		return errors.New("--nodeid is required")
	}
	size, err := resource.ParseQuantity(o.tmpfsSize)
	if err != nil || size.Value() < 4096 {
		return fmt.Errorf("--tmpfs-size=%s: want a quantity of at least 4Ki such as 8Mi", o.tmpfsSize)
	}
	if o.tmpfsInodes < 16 {
		return fmt.Errorf("--tmpfs-inodes=%d: want at least 16", o.tmpfsInodes)
	}
	limits := driver.VolumeLimits{Bytes: size.Value(), Inodes: o.tmpfsInodes, BytesSetting: sizeSetting, InodesSetting: inodesSetting}
	config, err := kubeclient.Config(kubeclient.Options{Kubeconfig: o.kubeconfig, Component: "csi-driver"})
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(config)
	if err != nil {
		return fmt.Errorf("make kubernetes client: %w", err)
	}
	socket := providerclient.SocketPath(o.providerDir, o.provider)
	prov, err := providerclient.New(socket)
	if err != nil {
		return err
	}
	defer prov.Close()

	m := metrics.New()
	node := driver.NewNode(driver.Config{
		NodeID:           o.nodeID,
		ProviderName:     "provider " + o.provider,
		RotationInterval: o.rotationInterval,
		Timeout:          o.timeout,
		Imports:          imports.Start(ctx, dyn, 10*time.Minute),
		Provider:         prov,
		Mounter:          mounter{tmpfs.Limits{Bytes: limits.Bytes, Inodes: limits.Inodes}},
		Limits:           limits,
		Metrics:          m,
		Log:              log,
	})
	// Owner only: kubelet, the registrar and the liveness probe run as
	// root, and nobody else may mount volumes.
	ln, err := unixsocket.Listen(o.endpoint, 0o600)
	if err != nil {
		return err
	}
	srv := driver.NewServer(&driver.Identity{Version: buildinfo.Version()}, node)

	errc := make(chan error, 2)
	if o.metricsAddr != "" {
		go func() {
			errc <- healthserver.Serve(ctx, healthserver.Config{
				Addr: o.metricsAddr, Gatherer: m.Registry, Namespace: metrics.Namespace, Log: log})
		}()
	}
	go func() { errc <- srv.Serve(ln) }()
	log.Info("csi-driver serving", "driver", driver.Name, "endpoint", o.endpoint,
		"node", o.nodeID, "provider_socket", socket, "rotation_interval", o.rotationInterval.String(),
		"tmpfs_size", limits.Bytes, "tmpfs_inodes", limits.Inodes)

	select {
	case <-ctx.Done():
		log.Info("stopping")
		srv.GracefulStop()
		return nil
	case err := <-errc:
		srv.Stop()
		return err
	}
}

// mounter mounts real tmpfs file systems, each with the same limits.
type mounter struct{ limits tmpfs.Limits }

func (m mounter) Mount(dir string, gid int) error  { return tmpfs.Mount(dir, gid, m.limits) }
func (mounter) Unmount(dir string) error           { return tmpfs.Unmount(dir) }
func (mounter) IsMounted(dir string) (bool, error) { return tmpfs.IsMounted(dir) }
