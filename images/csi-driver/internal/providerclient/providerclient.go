// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package providerclient calls a secrets-store provider (ours or any
// upstream one) over the provider protocol on its unix socket.
package providerclient

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"sigs.k8s.io/secrets-store-csi-driver/provider/v1alpha1"
)

// maxMessage bounds a provider's answer; a volume holds up to 128 files
// and certificates or bundles can be large.
const maxMessage = 32 << 20

// SocketPath is where provider name listens under dir.
func SocketPath(dir, name string) string {
	return filepath.Join(dir, name+".sock")
}

// Client is a connection to one provider. It reconnects by itself, so a
// provider that starts later or restarts needs nothing from the caller.
type Client struct {
	conn   *grpc.ClientConn
	client v1alpha1.CSIDriverProviderClient
}

// New prepares a client of the provider at socket; it does not connect yet.
func New(socket string) (*Client, error) {
	conn, err := grpc.NewClient("unix://"+socket,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage)),
		// The provider is a container beside the driver: when it restarts,
		// reconnect within seconds, not after grpc's default two minutes.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 100 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 3 * time.Second},
			MinConnectTimeout: 5 * time.Second,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("make provider client for %s: %w", socket, err)
	}
	return &Client{conn: conn, client: v1alpha1.NewCSIDriverProviderClient(conn)}, nil
}

// Mount asks the provider for a volume's files. An error in the answer
// body (upstream providers' way) is returned as an error too.
func (c *Client) Mount(ctx context.Context, req *v1alpha1.MountRequest) (*v1alpha1.MountResponse, error) {
	resp, err := c.client.Mount(ctx, req)
	if err != nil {
		return nil, err
	}
	if code := resp.GetError().GetCode(); code != "" {
		return nil, fmt.Errorf("provider error %s", code)
	}
	return resp, nil
}

// Close ends the connection.
func (c *Client) Close() error {
	return c.conn.Close()
}
