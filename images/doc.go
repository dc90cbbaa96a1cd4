// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package images is the root of the module's binaries, one per directory:
// csi-driver, vault-provider, env-injector, webhook, controller and nri-plugin. Code they
// share (store login and reads, reference parsing, metrics) lives once in
// internal packages of this module. Nothing here may import Vault's server
// code or k8s.io/kubernetes.
package images
