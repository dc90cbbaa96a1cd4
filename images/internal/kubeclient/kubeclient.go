// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package kubeclient builds the Kubernetes API configuration of the
// binaries that talk to the API server (csi-driver, webhook, controller),
// so that they find it the same way and name themselves the same way.
package kubeclient

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/deckhouse/secrets-store-integration/images/internal/buildinfo"
)

// Options of Config.
type Options struct {
	// Kubeconfig is a kubeconfig file; empty: the files in $KUBECONFIG,
	// else the in-cluster configuration (the pod's service account).
	Kubeconfig string
	// Component names the binary in the User-Agent, such as "webhook".
	Component string
	// QPS and Burst bound the client's request rate; zero keeps client-go's
	// defaults (5 and 10).
	QPS   float32
	Burst int
}

// Config returns the API configuration o describes.
func Config(o Options) (*rest.Config, error) {
	cfg, err := load(o.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load kubernetes client configuration: %w", err)
	}
	cfg.UserAgent = buildinfo.UserAgent(o.Component)
	if o.QPS != 0 {
		cfg.QPS, cfg.Burst = o.QPS, o.Burst
	}
	return cfg, nil
}

func load(kubeconfig string) (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	if kubeconfig == "" {
		env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar)
		if env == "" {
			// In a pod, no kubeconfig: its service account. Not
			// clientcmd's default rules, which would also read a
			// ~/.kube/config that nobody meant for this binary.
			return rest.InClusterConfig()
		}
		rules.Precedence = filepath.SplitList(env)
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
}
