// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Command nri-plugin delivers secrets as environment variables through
// containerd: an NRI plugin that, when containerd creates a container of a
// pod annotated secrets-store.deckhouse.io/delivery: containerd, resolves
// the container's secrets-store: references and returns the values, which
// containerd puts into the container's spec. No init container, no
// rewritten entrypoint, no registry lookup.
//
// It runs on every node of the mode (a DaemonSet), as root, with the NRI
// socket and kubelet's pods folder (read-only) mounted, and no Kubernetes
// API rights: it logs in to the store with the pod's own projected token,
// which kubelet wrote into the pod's folder. When containerd goes away it
// connects again (see plugin.Server.Run).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/internal/buildinfo"
	"github.com/deckhouse/secrets-store-integration/images/internal/daemon"
	"github.com/deckhouse/secrets-store-integration/images/internal/healthserver"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
	"github.com/deckhouse/secrets-store-integration/images/internal/storemetrics"
	"github.com/deckhouse/secrets-store-integration/images/internal/storepolicy"
	"github.com/deckhouse/secrets-store-integration/images/nri-plugin/internal/plugin"
)

type options struct {
	socket, name, kubeletRoot, health, logLevel string
	index                                       int
	requestTimeout, retry                       time.Duration
	defaults                                    params.Defaults
	policy                                      storepolicy.Policy
}

func main() {
	var o options
	flag.StringVar(&o.socket, "nri-socket", "/var/run/nri/nri.sock", "containerd's NRI socket")
	flag.StringVar(&o.name, "plugin-name", "secrets-store", "NRI plugin name; pods require it by this name (required-plugins annotation)")
	flag.IntVar(&o.index, "plugin-index", 50, "NRI plugin index (00-99): the order among the runtime's plugins")
	flag.StringVar(&o.kubeletRoot, "kubelet-root-dir", "/var/lib/kubelet", "kubelet's --root-dir, where pods' projected tokens are (<dir>/pods/<uid>/volumes/...)")
	flag.DurationVar(&o.requestTimeout, "request-timeout", 8*time.Second,
		"bound of one container's resolution (login, reads, revocation excluded); keep it below containerd's NRI plugin_request_timeout")
	flag.DurationVar(&o.retry, "reconnect-interval", time.Second, "wait before connecting again when containerd's NRI socket is gone")
	flag.StringVar(&o.health, "health-address", ":9810", "HTTP address of /metrics, /healthz and /readyz; empty: none")
	flag.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	o.defaults.AddFlags(flag.CommandLine)
	o.policy.AddFlags(flag.CommandLine)
	buildinfo.AddFlag(flag.CommandLine, "nri-plugin")
	flag.Parse()
	o.policy.DefaultAddress = o.defaults.Address
	daemon.Main("nri-plugin", o.logLevel, func(ctx context.Context, log *slog.Logger) error { return run(ctx, o, log) })
}

func (o *options) check() error {
	var errs []error
	if o.index < 0 || o.index > 99 {
		errs = append(errs, fmt.Errorf("--plugin-index %d: want 0 to 99", o.index))
	}
	if o.name == "" {
		errs = append(errs, errors.New("--plugin-name is empty"))
	}
	if o.requestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--request-timeout %s: want more than 0", o.requestTimeout))
	}
	if o.kubeletRoot == "" {
		errs = append(errs, errors.New("--kubelet-root-dir is empty"))
	}
	if err := o.defaults.LoadCA(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func run(ctx context.Context, o options, log *slog.Logger) error {
	if err := o.check(); err != nil {
		return err
	}
	m := plugin.NewMetrics()
	p := plugin.New(plugin.Config{
		KubeletRoot: o.kubeletRoot, Defaults: o.defaults, Policy: o.policy, RequestTimeout: o.requestTimeout,
		Observer: storemetrics.New(m.Registry, plugin.Namespace), Log: log,
	}, m)
	idx := fmt.Sprintf("%02d", o.index) // NRI wants two digits
	srv := plugin.NewServer(p, plugin.Connection{Socket: o.socket, Name: o.name, Index: idx, Retry: o.retry})
	errc := make(chan error, 1)
	if o.health != "" {
		go func() {
			errc <- healthserver.Serve(ctx, healthserver.Config{
				Addr: o.health, Gatherer: m.Registry, Namespace: plugin.Namespace, Log: log, Ready: srv.Connected,
			})
		}()
	}
	log.Info("serving NRI plugin", "socket", o.socket, "plugin", idx+"-"+o.name, "kubelet_root_dir", o.kubeletRoot,
		"store_addr", o.defaults.Address, "request_timeout", o.requestTimeout.String())
	go func() { errc <- srv.Run(ctx) }()
	select {
	case err := <-errc:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		log.Info("stopping")
	}
	// Revocations under way end within their own bound.
	p.Wait()
	return nil
}
