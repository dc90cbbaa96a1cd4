// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package components

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"github.com/deckhouse/secrets-store-integration/test/supervisor"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// DriverName is the CSI driver name the module registers.
const DriverName = "secrets-store.csi.deckhouse.io"

// DriverConfig is how the CSI node driver runs.
type DriverConfig struct {
	// Binary is the csi-driver executable (Binaries.Driver).
	Binary string
	// Socket is the unix socket kubelet calls.
	Socket string
	// Kubeconfig is the driver's access to the API (testenv's admin).
	Kubeconfig string
	// ProviderDir and Provider locate the provider's socket:
	// <ProviderDir>/<Provider>.sock.
	ProviderDir, Provider string
	// NodeID is the node's name; default "node-1".
	NodeID string
	// RotationInterval is the least time between two fetches of a mounted
	// volume; zero keeps the driver's default.
	RotationInterval time.Duration
	// TmpfsSize and TmpfsInodes are each volume's tmpfs limits (a
	// quantity such as "256Ki", a count); empty and zero keep the
	// driver's defaults.
	TmpfsSize   string
	TmpfsInodes int64
	// Log receives a copy of each log line; nil drops the copy.
	Log io.Writer
}

// StartDriver runs the CSI node driver, with its metrics on a free loopback
// port, and returns once it answers GetPluginInfo.
func StartDriver(ctx context.Context, c DriverConfig) (*supervisor.Process, error) {
	if c.NodeID == "" {
		c.NodeID = "node-1"
	}
	// The driver does not log the address it bound, so pick a free port.
	metrics, err := supervisor.FreeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{
		"--endpoint", "unix://" + c.Socket, "--nodeid", c.NodeID, "--kubeconfig", c.Kubeconfig,
		"--provider-dir", c.ProviderDir, "--provider", c.Provider, "--metrics-addr", metrics,
	}
	if c.RotationInterval > 0 {
		args = append(args, "--rotation-interval", c.RotationInterval.String())
	}
	if c.TmpfsSize != "" {
		args = append(args, "--tmpfs-size", c.TmpfsSize)
	}
	if c.TmpfsInodes > 0 {
		args = append(args, "--tmpfs-inodes", strconv.FormatInt(c.TmpfsInodes, 10))
	}
	p := &supervisor.Process{Name: "csi-driver", Socket: c.Socket, Bin: c.Binary, Args: args, Out: c.Log}
	p.SetMetricsAddr(metrics)
	p.Ready = func(ctx context.Context, r *supervisor.Run) error {
		return WaitPluginInfo(ctx, r, c.Socket, DriverName)
	}
	if err := p.Start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// WaitPluginInfo polls GetPluginInfo on a CSI driver's socket until the
// driver of run r answers with name, as kubelet's plugin registration
// checks it. Another name is an error at once.
func WaitPluginInfo(ctx context.Context, r *supervisor.Run, socket, name string) error {
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("dial %s: %w", socket, err)
	}
	defer conn.Close()
	identity := csi.NewIdentityClient(conn)
	var wrongName error
	err = r.Poll(ctx, "GetPluginInfo on "+socket, func(ctx context.Context) error {
		info, err := identity.GetPluginInfo(ctx, &csi.GetPluginInfoRequest{})
		if err != nil {
			return err
		}
		if info.GetName() != name {
			wrongName = fmt.Errorf("driver name %q, want %q", info.GetName(), name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return wrongName
}
