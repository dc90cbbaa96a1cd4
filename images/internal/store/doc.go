// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package store is the client of the Vault-compatible secret store shared by
// the module's binaries: TLS and namespaces, login with a pod's
// service-account token (Kubernetes or JWT auth), a token cache per identity,
// and reads that hide the difference between KV v1, KV v2 and other engines.
//
// It does not import Prometheus: the env injector links it and must stay
// small. Callers that want metrics pass an Observer.
package store
