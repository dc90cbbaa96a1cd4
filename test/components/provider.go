// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package components

import (
	"context"
	"io"
	"time"

	"github.com/deckhouse/secrets-store-integration/test/supervisor"
)

// ProviderConfig is how the Vault provider runs.
type ProviderConfig struct {
	// Binary is the vault-provider executable (Binaries.Provider).
	Binary string
	// Socket is the unix socket it serves the provider protocol on; the
	// driver finds it as <provider dir>/<provider name>.sock.
	Socket string
	// VaultAddr and VaultCAPath are the default store and its CA.
	VaultAddr, VaultCAPath string
	// ReadCacheTTL is how long pods of one identity share a read; zero
	// turns sharing off, for tests that change values and expect them at once.
	ReadCacheTTL time.Duration
	// VersionKeyFile holds the HMAC key of object versions, so versions stay
	// the same over a restart; empty means a random key per start.
	VersionKeyFile string
	// Args are more flags, such as --allowed-audiences.
	Args []string
	// Log receives a copy of each log line; nil drops the copy (Logs keeps
	// the lines either way).
	Log io.Writer
}

// StartProvider runs the Vault provider, with its metrics on a loopback
// port it picks, and returns once it serves.
func StartProvider(ctx context.Context, c ProviderConfig) (*supervisor.Process, error) {
	args := []string{
		"--endpoint", c.Socket,
		"--vault-addr", c.VaultAddr,
		"--vault-ca-cert", c.VaultCAPath,
		"--read-cache-ttl", c.ReadCacheTTL.String(),
		// Port 0: parallel runs never collide; the bound address is logged.
		"--metrics-addr", "127.0.0.1:0",
	}
	if c.VersionKeyFile != "" {
		args = append(args, "--version-key-file", c.VersionKeyFile)
	}
	args = append(args, c.Args...)
	p := &supervisor.Process{Name: "vault-provider", Socket: c.Socket, Bin: c.Binary, Args: args, Out: c.Log}
	p.Ready = func(ctx context.Context, r *supervisor.Run) error {
		if err := r.WaitMetrics(ctx); err != nil {
			return err
		}
		_, err := r.WaitLog(ctx, "serving provider")
		return err
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}
