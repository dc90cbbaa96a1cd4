// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package injection

// Where the webhook puts things in a mutated pod.
const (
	// InjectorDir is the memory-backed emptyDir the init container copies
	// the injector into; InjectorPath is the copy every container starts.
	InjectorDir  = "/secrets-store/bin"
	InjectorPath = InjectorDir + "/env-injector"
	// TokenVolume is the projected volume of the service-account token
	// with the store's audience, TokenFile its file. Entrypoint delivery
	// mounts it at TokenDir (TokenPath is the file); containerd delivery
	// mounts it nowhere: the NRI plugin reads it in the pod's folder on
	// the node, where kubelet writes it.
	TokenVolume = "secrets-store-token"
	TokenFile   = "token"
	TokenDir    = "/var/run/secrets/secrets-store"
	TokenPath   = TokenDir + "/" + TokenFile
	// TLSDir holds the tls-secret's files; CACertPath is its CA bundle.
	TLSDir     = "/secrets-store/tls"
	CACertPath = TLSDir + "/ca.crt"
	// SelfCopyFlag makes the injector copy itself into a folder and exit.
	SelfCopyFlag = "--self-copy"
	// ProbeFlag, before "--", marks an exec probe's run (mutate-probes):
	// the injector runs the probe command as its child and revokes its
	// store token, and with it every lease it read, when the probe ends.
	// A probe runs every few seconds; a lease kept per run would pile up
	// in the store for its whole TTL.
	ProbeFlag = "--probe"
)
