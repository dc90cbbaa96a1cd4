// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"

	"github.com/deckhouse/secrets-store-integration/test/supervisor"
)

// startEtcd runs a single-member etcd on loopback and waits for /health.
func startEtcd(ctx context.Context, bin, dir string) (proc *supervisor.Process, clientURL string, err error) {
	ports, err := supervisor.FreePorts(2)
	if err != nil {
		return nil, "", err
	}
	clientURL = fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	proc, err = startServer("etcd", dir, bin,
		"--name=testenv",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+clientURL,
		"--advertise-client-urls="+clientURL,
		"--listen-peer-urls="+peerURL,
		"--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=testenv="+peerURL,
		// Test data only: durability buys nothing and costs seconds.
		"--unsafe-no-fsync",
		"--log-level=warn",
	)
	if err != nil {
		return nil, "", err
	}
	err = proc.Poll(ctx, "etcd not ready", func(ctx context.Context) error {
		return httpOK(ctx, http.DefaultClient, clientURL+"/health", `"health":"true"`)
	})
	if err != nil {
		_ = proc.Kill()
		return nil, "", err
	}
	return proc, clientURL, nil
}

// httpOK checks that GET url answers 200 and, when want is set, a body containing it.
func httpOK(ctx context.Context, client *http.Client, url, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
