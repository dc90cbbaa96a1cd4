// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package driver

import (
	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
)

// NewServer makes the gRPC server with the Identity and Node services.
func NewServer(identity csi.IdentityServer, node csi.NodeServer) *grpc.Server {
	srv := grpc.NewServer()
	csi.RegisterIdentityServer(srv, identity)
	csi.RegisterNodeServer(srv, node)
	return srv
}
