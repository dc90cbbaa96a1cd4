// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package providerclient

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"sigs.k8s.io/secrets-store-csi-driver/provider/v1alpha1"
)

type server struct {
	v1alpha1.UnimplementedCSIDriverProviderServer
}

func (server) Mount(_ context.Context, req *v1alpha1.MountRequest) (*v1alpha1.MountResponse, error) {
	if req.GetAttributes() == "fail" {
		return &v1alpha1.MountResponse{Error: &v1alpha1.Error{Code: "Unauthorized"}}, nil
	}
	return &v1alpha1.MountResponse{Files: []*v1alpha1.File{{Path: "a", Contents: []byte(req.GetTargetPath())}}}, nil
}

func TestMount(t *testing.T) {
	dir := t.TempDir()
	socket := SocketPath(dir, "vault")
	if socket != filepath.Join(dir, "vault.sock") {
		t.Fatalf("SocketPath = %s", socket)
	}
	c, err := New(socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	// No provider yet: Unavailable, which kubelet retries.
	if _, err := c.Mount(ctx, &v1alpha1.MountRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("without provider: %v", err)
	}

	ln, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	v1alpha1.RegisterCSIDriverProviderServer(srv, server{})
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()

	var resp *v1alpha1.MountResponse
	for ctx.Err() == nil {
		if resp, err = c.Mount(ctx, &v1alpha1.MountRequest{TargetPath: "/t"}); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil || string(resp.GetFiles()[0].GetContents()) != "/t" {
		t.Fatalf("Mount: %v, %v", resp, err)
	}
	if _, err := c.Mount(ctx, &v1alpha1.MountRequest{Attributes: "fail"}); err == nil || !strings.Contains(err.Error(), "Unauthorized") {
		t.Errorf("error in the answer body: %v", err)
	}
}
