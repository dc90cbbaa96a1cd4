// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package components

import (
	"context"
	"io"
	"time"

	"github.com/deckhouse/secrets-store-integration/test/supervisor"
)

// NRIPluginName is the plugin as containerd names it with the default
// --plugin-index and --plugin-name: "<index>-<name>".
const NRIPluginName = "50-secrets-store"

// NRIPluginConfig is how the NRI plugin runs on a node.
type NRIPluginConfig struct {
	// Binary is the plugin (Binaries.NRIPlugin).
	Binary string
	// Socket is containerd's NRI socket.
	Socket string
	// KubeletRoot is kubelet's root folder, where pods' projected tokens are.
	KubeletRoot string
	// StoreAddr and StoreCAFile are the module's default store.
	StoreAddr, StoreCAFile string
	// RequestTimeout is --request-timeout; zero: the plugin's default.
	RequestTimeout time.Duration
	// Args are more flags.
	Args []string
	// Log receives a copy of each log line; nil drops the copy.
	Log io.Writer
}

// StartNRIPlugin runs the plugin at debug level (what it logs there must hold
// no secret either) and returns once containerd has registered it ("connected").
func StartNRIPlugin(ctx context.Context, c NRIPluginConfig) (*supervisor.Process, error) {
	args := []string{
		"--nri-socket", c.Socket, "--kubelet-root-dir", c.KubeletRoot, "--health-address", "",
		"--vault-addr", c.StoreAddr, "--log-level", "debug",
	}
	if c.StoreCAFile != "" {
		args = append(args, "--vault-ca-cert", c.StoreCAFile)
	}
	if c.RequestTimeout > 0 {
		args = append(args, "--request-timeout", c.RequestTimeout.String())
	}
	p := &supervisor.Process{Name: "nri-plugin", Bin: c.Binary, Args: append(args, c.Args...), Out: c.Log}
	p.Ready = func(ctx context.Context, r *supervisor.Run) error {
		_, err := r.WaitLog(ctx, "connected")
		return err
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}
