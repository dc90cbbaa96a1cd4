// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package provider is the Vault provider of the secrets-store CSI driver: a
// CSIDriverProvider gRPC server (sigs.k8s.io/secrets-store-csi-driver
// provider/v1alpha1) that logs in with the pod's service-account token,
// reads the requested objects and returns them as files, with object
// versions that reveal nothing of the content.
package provider
