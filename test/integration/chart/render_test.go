// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package chart

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// monitoringAPIs are the API versions of the optional CRDs the chart checks
// with .Capabilities.APIVersions.Has.
var monitoringAPIs = []string{
	"monitoring.coreos.com/v1",
	"monitoring.coreos.com/v1/PodMonitor",
	"monitoring.coreos.com/v1/PrometheusRule",
	"autoscaling.k8s.io/v1",
	"autoscaling.k8s.io/v1/VerticalPodAutoscaler",
	"deckhouse.io/v1",
	"deckhouse.io/v1/GrafanaDashboardDefinition",
	"deckhouse.io/v1alpha1",
	"deckhouse.io/v1alpha1/NodeGroupConfiguration",
}

// capabilities are the API versions the cluster adds to Helm's defaults:
// the monitoring CRDs' when withMonitoring.
func capabilities(withMonitoring bool) []string {
	if withMonitoring {
		return monitoringAPIs
	}
	return nil
}

// key names an object as kind/namespace/name, or kind/name when cluster-scoped.
func key(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetKind() + "/" + obj.GetName()
	}
	return obj.GetKind() + "/" + obj.GetNamespace() + "/" + obj.GetName()
}
