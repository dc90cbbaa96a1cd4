// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package addonoperator

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"

	"github.com/deckhouse/secrets-store-integration/test/addonop"
	"github.com/deckhouse/secrets-store-integration/test/bench"
	"github.com/deckhouse/secrets-store-integration/test/helmchart"
	"github.com/deckhouse/secrets-store-integration/test/scrape"
)

func mustRead(path string) []byte {
	data, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	return data
}

// waitRelease waits until the module's release has a deployed revision
// newer than after and returns it. Each converge that changes the values or
// the chart makes one revision; a failed one would show as status failed.
func waitRelease(ctx context.Context, after int) addonop.Release {
	GinkgoHelper()
	var rel addonop.Release
	Eventually(ctx, func(g Gomega) {
		r, ok, err := addonop.ModuleRelease(ctx, env)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(ok).To(BeTrue(), "no Helm release of the module yet")
		g.Expect(r.Status).NotTo(Equal("failed"), "release revision %d failed", r.Revision)
		g.Expect(r.Revision).To(BeNumerically(">", after))
		g.Expect(r.Status).To(Equal("deployed"))
		rel = r
	}).WithPolling(200 * time.Millisecond).Should(Succeed())
	return rel
}

// currentRelease is the newest revision now.
func currentRelease(ctx context.Context) addonop.Release {
	GinkgoHelper()
	r, ok, err := addonop.ModuleRelease(ctx, env)
	Expect(err).NotTo(HaveOccurred())
	Expect(ok).To(BeTrue(), "the module has no release")
	return r
}

// converge writes settings as a ModuleConfig change would and waits for the
// release revision it makes; it prints how long the converge took.
func converge(ctx context.Context, what string, settings map[string]any) addonop.Release {
	GinkgoHelper()
	before := currentRelease(ctx)
	began := time.Now()
	Expect(addonop.SetModuleConfig(ctx, env, true, settings)).To(Succeed())
	rel := waitRelease(ctx, before.Revision)
	fmt.Fprintf(GinkgoWriter, "converge (%s): revision %d deployed in %s (load %s)\n",
		what, rel.Revision, time.Since(began).Round(time.Millisecond), bench.LoadAverage())
	return rel
}

// releaseManifest is the objects addon-operator installed in revision rev.
func releaseManifest(ctx context.Context, rev int) []*unstructured.Unstructured {
	GinkgoHelper()
	objs, err := addonop.ReleaseManifest(ctx, env, rev)
	Expect(err).NotTo(HaveOccurred())
	return objs
}

// live reads obj's current state from the API server.
func live(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	dc, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(env.Kube.Discovery()))
	gvk := obj.GroupVersionKind()
	m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	if obj.GetNamespace() != "" {
		return dc.Resource(m.Resource).Namespace(obj.GetNamespace()).Get(ctx, obj.GetName(), metav1.GetOptions{})
	}
	return dc.Resource(m.Resource).Get(ctx, obj.GetName(), metav1.GetOptions{})
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// webhookTLS is the webhook Secret's certificate material.
type webhookTLS struct{ CA, Crt, Key []byte }

func readWebhookTLS(ctx context.Context) webhookTLS {
	GinkgoHelper()
	s, err := env.Kube.CoreV1().Secrets(helmchart.ModuleNamespace).Get(ctx, "secrets-store-integration-webhook-tls", metav1.GetOptions{})
	Expect(err).NotTo(HaveOccurred())
	return webhookTLS{CA: s.Data["ca.crt"], Crt: s.Data["tls.crt"], Key: s.Data["tls.key"]}
}

func parseCert(pemBytes []byte) *x509.Certificate {
	GinkgoHelper()
	block, _ := pem.Decode(pemBytes)
	Expect(block).NotTo(BeNil(), "no PEM block")
	c, err := x509.ParseCertificate(block.Bytes)
	Expect(err).NotTo(HaveOccurred())
	return c
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }

// hookMetrics are the metrics the module's hooks set, as addon-operator
// serves them for Prometheus (/metrics/hooks, labelled with hook and module).
func hookMetrics(ctx context.Context) scrape.Metrics {
	GinkgoHelper()
	body, err := operator.Get(ctx, "/metrics/hooks")
	Expect(err).NotTo(HaveOccurred())
	m, err := scrape.Parse(body)
	Expect(err).NotTo(HaveOccurred())
	return m
}
