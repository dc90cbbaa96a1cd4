// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package driver

import (
	"context"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Name is the CSI driver name kubelet knows the driver by.
const Name = "secrets-store.csi.deckhouse.io"

// Identity is the CSI Identity service.
type Identity struct {
	csi.UnimplementedIdentityServer
	Version string
}

// GetPluginInfo names the driver.
func (i *Identity) GetPluginInfo(context.Context, *csi.GetPluginInfoRequest) (*csi.GetPluginInfoResponse, error) {
	return &csi.GetPluginInfoResponse{Name: Name, VendorVersion: i.Version}, nil
}

// GetPluginCapabilities lists none: a node-only plugin for ephemeral
// inline volumes has no controller service and no topology.
func (i *Identity) GetPluginCapabilities(context.Context, *csi.GetPluginCapabilitiesRequest) (*csi.GetPluginCapabilitiesResponse, error) {
	return &csi.GetPluginCapabilitiesResponse{}, nil
}

// Probe says the driver is ready once it serves: it needs nothing else to
// take requests (a missing provider is reported per request).
func (i *Identity) Probe(context.Context, *csi.ProbeRequest) (*csi.ProbeResponse, error) {
	return &csi.ProbeResponse{Ready: wrapperspb.Bool(true)}, nil
}
