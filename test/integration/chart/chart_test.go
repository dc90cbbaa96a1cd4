// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package chart

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"regexp"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/lint/support"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/helmchart"
)

const (
	registryBase  = "registry.deckhouse.io/deckhouse/ce/modules/secrets-store-integration"
	strongholdURL = "https://stronghold.d8-stronghold:8300"
	storeCAPath   = "/etc/secrets-store-integration/store-ca/ca.crt"
	// monitoringTemplate is rendered by the monitoring part of the module
	// (dashboards and rules), checked by its own tests; here its objects
	// only go through the dry-run.
	monitoringTemplate = "templates/monitoring.yaml"
)

// images are the module's images, as named in
// global.modulesImages.digests.secretsStoreIntegration.
var images = []string{"csiDriver", "vaultProvider", "webhook", "controller", "envInjector", "nodeDriverRegistrar", "livenessprobe", "nriPlugin"}

// digest is a made-up image digest, distinct per image.
func digest(image string) string {
	sum := sha256.Sum256([]byte(image))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// deckhouseValues are the values Deckhouse passes: globals, and the module's
// settings with internal, as the hooks fill it.
func deckhouseValues(highAvailability bool, settings map[string]any) map[string]any {
	digests := map[string]any{}
	for _, image := range images {
		digests[image] = digest(image)
	}
	return map[string]any{
		"global": map[string]any{
			"modulesImages": map[string]any{
				"registry": map[string]any{"base": registryBase},
				"digests":  map[string]any{"secretsStoreIntegration": digests},
			},
			"discovery":        map[string]any{"clusterDomain": "cluster.local"},
			"highAvailability": highAvailability,
		},
		"secretsStoreIntegration": settings,
	}
}

// withPolicyEngine marks Deckhouse's admission-policy-engine (its CRDs) as
// enabled, as global.enabledModules says under Deckhouse.
func withPolicyEngine(values map[string]any) map[string]any {
	values["global"].(map[string]any)["enabledModules"] = []any{"admission-policy-engine-crd", "vertical-pod-autoscaler-crd"}
	return values
}

// withCommonSidecars adds what Deckhouse passes for the CSI sidecars: the
// cluster's Kubernetes version and the images of its common module for it.
func withCommonSidecars(values map[string]any) map[string]any {
	global := values["global"].(map[string]any)
	global["discovery"].(map[string]any)["kubernetesVersion"] = "1.37.2"
	digests := global["modulesImages"].(map[string]any)["digests"].(map[string]any)
	digests["common"] = map[string]any{
		"csiNodeDriverRegistrar137": digest("common/csiNodeDriverRegistrar137"),
		"csiLivenessprobe137":       digest("common/csiLivenessprobe137"),
	}
	return values
}

// chartCase is one values case of the matrix.
type chartCase struct {
	values     func() map[string]any
	monitoring bool // the monitoring and VPA CRDs are among the capabilities
	storeCA    bool // a store CA is configured: a ConfigMap and CA file flags
	// moduleSource: installed from a module source, whose registry
	// credentials render the module-registry pull Secret.
	moduleSource bool
	// policyEngine: Deckhouse's admission-policy-engine is enabled, so the
	// CSI node pod gets a SecurityPolicyException instead of a privileged
	// namespace.
	policyEngine bool
	// containerd: containerdDelivery.enabled, so the NRI plugin's
	// DaemonSet (and with monitoring, whose list of CRDs holds Deckhouse's
	// NodeGroupConfiguration, its node configuration) is rendered.
	containerd bool
	check      func(objs []*unstructured.Unstructured)
}

var _ = Describe("the module's chart", func() {
	It("lints clean with plain Helm's defaults", func() {
		expectLintClean(map[string]any{})
	})

	It("refuses Manual without a store address under plain Helm", func() {
		_, err := helmchart.Render(map[string]any{
			"secretsStoreIntegration": map[string]any{"connectionConfiguration": "Manual"},
		}, nil)
		Expect(err).To(MatchError(ContainSubstring("connectionConfiguration: Manual requires connection.url")))
	})

	DescribeTable("renders valid objects",
		func(ctx SpecContext, c chartCase) {
			values := c.values()
			out, err := helmchart.RenderSources(values, capabilities(c.monitoring))
			Expect(err).NotTo(HaveOccurred())
			var objs []*unstructured.Unstructured
			for _, r := range out {
				if r.Source != monitoringTemplate {
					objs = append(objs, r.Obj)
				}
			}

			By("rendering exactly the expected objects")
			want := expectedKeys(c.monitoring, c.storeCA)
			if c.moduleSource {
				want = append(want, "Secret/"+moduleNamespace+"/module-registry")
			}
			if c.policyEngine {
				want = append(want, "SecurityPolicyException/"+moduleNamespace+"/csi-secrets-store")
			}
			if c.containerd {
				want = append(want, nriKeys(c.monitoring, c.policyEngine)...)
			}
			Expect(keys(objs)).To(ConsistOf(want))

			By("excepting the CSI node pod alone from the baseline policy under the policy engine, else a privileged namespace")
			policy := map[bool]string{true: "baseline", false: "privileged"}[c.policyEngine]
			Expect(find(objs, "Namespace", moduleNamespace).GetLabels()).To(And(
				HaveKeyWithValue("security.deckhouse.io/pod-policy", policy),
				HaveKeyWithValue("pod-security.kubernetes.io/enforce", "privileged")))
			podLabels, _, _ := unstructured.NestedStringMap(find(objs, "DaemonSet", "csi-secrets-store").Object, "spec", "template", "metadata", "labels")
			if c.policyEngine {
				Expect(podLabels).To(HaveKeyWithValue("security.deckhouse.io/security-policy-exception", "csi-secrets-store"))
				spe := find(objs, "SecurityPolicyException", "csi-secrets-store")
				Expect(field(spe.Object, "spec", "securityContext", "privileged", "allowedValue")).To(BeTrue())
				paths, _, _ := unstructured.NestedSlice(spe.Object, "spec", "volumes", "hostPath", "allowedValues")
				var allowed []string
				for _, p := range paths {
					allowed = append(allowed, p.(map[string]any)["path"].(string))
				}
				var used []string
				vols, _, _ := unstructured.NestedSlice(find(objs, "DaemonSet", "csi-secrets-store").Object, "spec", "template", "spec", "volumes")
				for _, v := range vols {
					if hp, ok := v.(map[string]any)["hostPath"].(map[string]any); ok {
						used = append(used, hp["path"].(string))
					}
				}
				Expect(allowed).To(ConsistOf(used), "the exception allows exactly the DaemonSet's hostPath volumes")
			} else {
				Expect(podLabels).NotTo(HaveKey("security.deckhouse.io/security-policy-exception"))
			}

			By("running only the CSI driver container privileged")
			ds := find(objs, "DaemonSet", "csi-secrets-store")
			Expect(ds).NotTo(BeNil())
			for _, obj := range objs {
				for _, ctr := range containers(obj) {
					privileged, _, _ := unstructured.NestedBool(ctr, "securityContext", "privileged")
					Expect(privileged).To(Equal(obj == ds && ctr["name"] == "csi-driver"),
						"container %s of %s privileged", ctr["name"], key(obj))
				}
			}
			By("bounding every container's memory, requesting CPU and memory")
			limits := map[string]string{}
			for _, obj := range objs {
				for _, ctr := range containers(obj) {
					limit, _, _ := unstructured.NestedString(ctr, "resources", "limits", "memory")
					Expect(limit).NotTo(BeEmpty(), "memory limit of container %s of %s", ctr["name"], key(obj))
					limits[ctr["name"].(string)] = limit
					for _, r := range []string{"cpu", "memory"} {
						req, _, _ := unstructured.NestedString(ctr, "resources", "requests", r)
						Expect(req).NotTo(BeEmpty(), "%s request of container %s of %s", r, ctr["name"], key(obj))
					}
				}
			}
			if c.monitoring {
				By("letting VPAs move requests only, never past the limit")
				for _, obj := range objs {
					if obj.GetKind() != "VerticalPodAutoscaler" {
						continue
					}
					policies, _, _ := unstructured.NestedSlice(obj.Object, "spec", "resourcePolicy", "containerPolicies")
					for _, p := range policies {
						p := p.(map[string]any)
						if p["containerName"] == "*" {
							continue
						}
						Expect(p["controlledValues"]).To(Equal("RequestsOnly"), key(obj))
						Expect(field(p, "maxAllowed", "memory")).To(Equal(limits[p["containerName"].(string)]), key(obj))
					}
				}
			}
			driver := container(ds, "csi-driver")
			Expect(driver).NotTo(BeNil())
			mounts, _, _ := unstructured.NestedSlice(driver, "volumeMounts")
			Expect(mounts).To(ContainElement(HaveKeyWithValue("mountPropagation", "Bidirectional")))
			provider := container(ds, "vault-provider")
			Expect(field(provider, "securityContext", "runAsNonRoot")).To(BeTrue())

			By("giving the webhook configuration the CA of the webhook's Secret")
			tls := find(objs, "Secret", "secrets-store-integration-webhook-tls")
			Expect(tls).NotTo(BeNil())
			data, _, _ := unstructured.NestedStringMap(tls.Object, "data")
			Expect(data).To(HaveKey("tls.crt"))
			Expect(data).To(HaveKey("tls.key"))
			Expect(caBundle(objs)).To(Equal(data["ca.crt"]))

			By("registering the webhook as the tests of env injection do")
			expectWebhookAsComponents(objs)

			By("namespacing every namespaced object in the module's namespace")
			for _, obj := range objs {
				if ns := obj.GetNamespace(); ns != "" {
					Expect(ns).To(Equal(moduleNamespace), key(obj))
				}
			}

			c.check(objs)

			By("linting clean with these values")
			expectLintClean(values)

			By("having every object accepted by kube-apiserver (server-side dry-run)")
			for _, r := range out {
				Expect(dryRunApply(ctx, env, r.Obj)).To(Succeed(), "from %s", r.Source)
			}
		},
		Entry("Manual with a CA, no HA, monitoring present, admission-policy-engine enabled", chartCase{
			monitoring: true, storeCA: true, policyEngine: true,
			values: func() map[string]any {
				return withPolicyEngine(deckhouseValues(false, map[string]any{
					"connectionConfiguration": "Manual",
					"connection": map[string]any{
						"url": "https://vault.example.com:8200", "caCert": storeCA,
						"authPath": "kubernetes-prod", "namespace": "team-a",
					},
					"logLevel":              "Debug",
					"rotationInterval":      "5m",
					"volumeSizeLimit":       "32Mi",
					"volumeInodeLimit":      2048,
					"allowedStoreAddresses": []any{"https://vault-b.example.com:8200", "https://vault-c.example.com"},
					"allowSkipTLSVerify":    true,
					"allowedAudiences":      []any{"vault", "team-a-store"},
					"nodeSelector":          map[string]any{"node-role.kubernetes.io/worker": ""},
					"tolerations": []any{map[string]any{
						"key": "dedicated", "operator": "Equal", "value": "secrets", "effect": "NoSchedule",
					}},
					"internal": map[string]any{
						"webhookCert": webhookCert,
						"connection": map[string]any{
							"url": "https://vault.example.com:8200", "caCert": storeCA,
							"authPath": "kubernetes-prod", "namespace": "team-a",
						},
					},
				}))
			},
			check: func(objs []*unstructured.Unstructured) {
				expectHookCert(objs)
				expectReplicas(objs, 1)
				cm := find(objs, "ConfigMap", "secrets-store-integration-store-ca")
				Expect(field(cm.Object, "data", "ca.crt")).To(Equal(storeCA))

				ds := find(objs, "DaemonSet", "csi-secrets-store")
				Expect(args(ds, "csi-driver")).To(ContainElements("--rotation-interval=5m", "--log-level=debug",
					"--tmpfs-size=32Mi", "--tmpfs-inodes=2048"))
				Expect(args(ds, "vault-provider")).To(ContainElements(
					"--vault-addr=https://vault.example.com:8200", "--vault-ca-cert="+storeCAPath,
					"--vault-auth-mount=kubernetes-prod", "--vault-namespace=team-a", "--log-level=debug"))
				Expect(field(ds.Object, "spec", "template", "spec", "nodeSelector")).
					To(Equal(map[string]any{"node-role.kubernetes.io/worker": ""}))
				Expect(field(ds.Object, "spec", "template", "spec", "tolerations")).
					To(ConsistOf(HaveKeyWithValue("key", "dedicated")))
				Expect(container(ds, "csi-driver")["image"]).To(Equal(registryBase + "@" + digest("csiDriver")))
				Expect(container(ds, "node-driver-registrar")["image"]).To(Equal(registryBase + "@" + digest("nodeDriverRegistrar")))
				Expect(field(ds.Object, "spec", "template", "spec", "imagePullSecrets")).
					To(Equal([]any{map[string]any{"name": "deckhouse-registry"}}))

				webhook := find(objs, "Deployment", "secrets-store-integration-webhook")
				Expect(args(webhook, "webhook")).To(ContainElements(
					"--injector-image="+registryBase+"@"+digest("envInjector"),
					"--store-addr=https://vault.example.com:8200", "--store-ca-file="+storeCAPath,
					"--store-auth-path=kubernetes-prod", "--store-namespace=team-a"))
				controller := find(objs, "Deployment", "secrets-store-integration-controller")
				Expect(args(controller, "controller")).To(ContainElements(
					"--vault-ca-cert="+storeCAPath, "--vault-auth-mount=kubernetes-prod", "--leader-elect=true"))

				By("passing the allowlists to every component that checks them, and a token per audience")
				for _, c := range []struct {
					obj       *unstructured.Unstructured
					container string
				}{{ds, "vault-provider"}, {webhook, "webhook"}, {controller, "controller"}} {
					Expect(args(c.obj, c.container)).To(ContainElements(
						"--allowed-audiences=vault,team-a-store",
						"--allowed-store-addresses=https://vault-b.example.com:8200,https://vault-c.example.com",
						"--allow-skip-tls-verify"), c.container)
				}
				Expect(tokenAudiences(objs)).To(Equal([]string{"vault", "team-a-store"}))
			},
		}),
		Entry("containerd delivery on: the NRI plugin without API rights, its node configuration, the webhook told", chartCase{
			monitoring: true, policyEngine: true, containerd: true,
			values: func() map[string]any {
				return withPolicyEngine(deckhouseValues(false, map[string]any{
					"containerdDelivery": map[string]any{"enabled": true, "nodeGroups": []any{"worker"}},
					"internal": map[string]any{
						"webhookCert": webhookCert,
						"connection":  map[string]any{"url": strongholdURL, "authPath": "kubernetes", "discovered": false},
					},
				}))
			},
			check: func(objs []*unstructured.Unstructured) {
				const label = "secrets-store.deckhouse.io/containerd-delivery"
				ds := find(objs, "DaemonSet", "secrets-store-nri-plugin")
				plugin := container(ds, "nri-plugin")
				Expect(plugin["image"]).To(Equal(registryBase + "@" + digest("nriPlugin")))
				Expect(field(ds.Object, "spec", "template", "spec", "nodeSelector")).To(Equal(map[string]any{label: "enabled"}))

				By("giving the plugin no API rights and no token")
				Expect(field(ds.Object, "spec", "template", "spec", "serviceAccountName")).To(Equal("secrets-store-nri-plugin"))
				Expect(field(ds.Object, "spec", "template", "spec", "automountServiceAccountToken")).To(BeFalse())
				Expect(field(find(objs, "ServiceAccount", "secrets-store-nri-plugin").Object, "automountServiceAccountToken")).To(BeFalse())
				for _, obj := range objs {
					if k := obj.GetKind(); k == "RoleBinding" || k == "ClusterRoleBinding" {
						subjects, _, _ := unstructured.NestedSlice(obj.Object, "subjects")
						for _, sub := range subjects {
							Expect(sub.(map[string]any)["name"]).NotTo(Equal("secrets-store-nri-plugin"), key(obj))
						}
					}
				}

				By("running it as root without privilege: one capability to read tokens, both host folders read-only")
				Expect(field(plugin, "securityContext", "runAsUser")).To(BeNumerically("==", 0))
				Expect(field(plugin, "securityContext", "allowPrivilegeEscalation")).To(BeFalse())
				Expect(field(plugin, "securityContext", "readOnlyRootFilesystem")).To(BeTrue())
				Expect(field(plugin, "securityContext", "capabilities", "add")).To(Equal([]any{"DAC_OVERRIDE"}))
				Expect(hostPaths(ds)).To(ConsistOf("/var/run/nri", "/var/lib/kubelet/pods"))
				mounts, _, _ := unstructured.NestedSlice(plugin, "volumeMounts")
				for _, path := range []string{"/var/lib/kubelet/pods", "/var/run/nri"} {
					Expect(mounts).To(ContainElement(And(HaveKeyWithValue("mountPath", path), HaveKeyWithValue("readOnly", true))), path)
				}
				Expect(args(ds, "nri-plugin")).To(ContainElements("--nri-socket=/var/run/nri/nri.sock", "--plugin-name=secrets-store",
					"--kubelet-root-dir=/var/lib/kubelet", "--vault-addr="+strongholdURL, "--vault-auth-mount=kubernetes", "--health-address=:9810",
					"--allowed-audiences=vault"), "the store policy: the plugin sends pods' tokens")
				spe := find(objs, "SecurityPolicyException", "secrets-store-nri-plugin")
				paths, _, _ := unstructured.NestedSlice(spe.Object, "spec", "volumes", "hostPath", "allowedValues")
				var allowed []string
				for _, p := range paths {
					allowed = append(allowed, p.(map[string]any)["path"].(string))
				}
				Expect(allowed).To(ConsistOf(hostPaths(ds)), "the exception allows exactly the plugin's hostPath volumes")

				By("telling the webhook, with the plugin's name and the label of its nodes")
				webhook := find(objs, "Deployment", "secrets-store-integration-webhook")
				Expect(args(webhook, "webhook")).To(ContainElements("--containerd-delivery",
					"--containerd-node-label="+label+"=enabled", "--nri-plugin-name=secrets-store"))

				By("configuring containerd's NRI on the chosen node groups, its timeout above the plugin's")
				ngc := find(objs, "NodeGroupConfiguration", "secrets-store-integration-nri.sh")
				Expect(field(ngc.Object, "spec", "nodeGroups")).To(Equal([]any{"worker"}))
				Expect(field(ngc.Object, "spec", "weight")).To(BeNumerically("<", 32), "before bashible's containerd step")
				content := field(ngc.Object, "spec", "content").(string)
				Expect(content).To(And(ContainSubstring(`[plugins."io.containerd.nri.v1.nri"]`), ContainSubstring("disable = false"),
					ContainSubstring(`[plugins."io.containerd.nri.v1.nri".default_validator]`), ContainSubstring("enable = true"),
					ContainSubstring("/etc/containerd/conf.d/"), ContainSubstring("label node \"$D8_NODE_HOSTNAME\" --overwrite "+label+"=enabled")))
				containerdTimeout := regexp.MustCompile(`plugin_request_timeout = "([0-9a-z]+)"`).FindStringSubmatch(content)
				Expect(containerdTimeout).To(HaveLen(2))
				var pluginTimeout string
				for _, a := range args(ds, "nri-plugin") {
					if v, ok := strings.CutPrefix(a, "--request-timeout="); ok {
						pluginTimeout = v
					}
				}
				ct, err := time.ParseDuration(containerdTimeout[1])
				Expect(err).NotTo(HaveOccurred())
				pt, err := time.ParseDuration(pluginTimeout)
				Expect(err).NotTo(HaveOccurred())
				Expect(pt).To(BeNumerically("<", ct), "the plugin answers before containerd drops it")
			},
		}),
		Entry("installed from a module source: its registry and pull Secret", chartCase{
			moduleSource: true,
			values: func() map[string]any {
				return deckhouseValues(false, map[string]any{
					"registry": map[string]any{"base": "registry.example.com/modules/secrets-store-integration", "dockercfg": "e30="},
					"internal": map[string]any{
						"webhookCert": webhookCert,
						"connection":  map[string]any{"url": strongholdURL, "authPath": "kubernetes", "discovered": false},
					},
				})
			},
			check: func(objs []*unstructured.Unstructured) {
				pull := find(objs, "Secret", "module-registry")
				Expect(field(pull.Object, "type")).To(Equal("kubernetes.io/dockerconfigjson"))
				Expect(field(pull.Object, "data", ".dockerconfigjson")).To(Equal("e30="))
				own := "registry.example.com/modules/secrets-store-integration@"
				ds := find(objs, "DaemonSet", "csi-secrets-store")
				Expect(container(ds, "csi-driver")["image"]).To(Equal(own + digest("csiDriver")))
				for _, w := range []*unstructured.Unstructured{ds,
					find(objs, "Deployment", "secrets-store-integration-webhook"),
					find(objs, "Deployment", "secrets-store-integration-controller")} {
					Expect(field(w.Object, "spec", "template", "spec", "imagePullSecrets")).
						To(Equal([]any{map[string]any{"name": "module-registry"}}), w.GetName())
				}
			},
		}),
		Entry("DiscoverLocalStronghold with its CA, global HA, monitoring present", chartCase{
			monitoring: true, storeCA: true,
			values: func() map[string]any {
				return withCommonSidecars(deckhouseValues(true, map[string]any{
					"connectionConfiguration": "DiscoverLocalStronghold",
					"internal": map[string]any{
						"webhookCert": webhookCert,
						"connection": map[string]any{
							"url": strongholdURL, "caCert": storeCA, "authPath": "kubernetes", "discovered": true,
						},
					},
				}))
			},
			check: func(objs []*unstructured.Unstructured) {
				expectHookCert(objs)
				expectReplicas(objs, 2)
				sidecars := find(objs, "DaemonSet", "csi-secrets-store")
				Expect(container(sidecars, "node-driver-registrar")["image"]).To(Equal(registryBase + "@" + digest("common/csiNodeDriverRegistrar137")))
				Expect(container(sidecars, "livenessprobe")["image"]).To(Equal(registryBase + "@" + digest("common/csiLivenessprobe137")))
				ds := find(objs, "DaemonSet", "csi-secrets-store")
				Expect(args(ds, "vault-provider")).To(ContainElements(
					"--vault-addr="+strongholdURL, "--vault-ca-cert="+storeCAPath, "--vault-auth-mount=kubernetes"))
				Expect(args(ds, "vault-provider")).NotTo(ContainElement(HavePrefix("--vault-namespace")))
				// Not restricted: it tolerates every taint.
				Expect(field(ds.Object, "spec", "template", "spec", "tolerations")).
					To(Equal([]any{map[string]any{"operator": "Exists"}}))
				_, found, _ := unstructured.NestedFieldNoCopy(ds.Object, "spec", "template", "spec", "nodeSelector")
				Expect(found).To(BeFalse())
			},
		}),
		Entry("HA setting off over global HA, no store CA, monitoring absent", chartCase{
			values: func() map[string]any {
				return deckhouseValues(true, map[string]any{
					"highAvailability": false,
					"internal": map[string]any{
						"webhookCert": webhookCert,
						"connection":  map[string]any{"url": strongholdURL, "authPath": "kubernetes", "discovered": false},
					},
				})
			},
			check: func(objs []*unstructured.Unstructured) {
				expectHookCert(objs)
				expectReplicas(objs, 1)
				for _, obj := range objs {
					for _, ctr := range containers(obj) {
						for _, arg := range stringArgs(ctr) {
							Expect(arg).NotTo(Or(HavePrefix("--vault-ca-cert"), HavePrefix("--store-ca-file")), key(obj))
						}
					}
				}
			},
		}),
		Entry("HA setting on without global HA, Manual without a CA, monitoring absent", chartCase{
			values: func() map[string]any {
				return deckhouseValues(false, map[string]any{
					"highAvailability":        true,
					"connectionConfiguration": "Manual",
					"connection":              map[string]any{"url": "https://vault.example.com"},
					"internal": map[string]any{
						"webhookCert": webhookCert,
						"connection":  map[string]any{"url": "https://vault.example.com", "authPath": "kubernetes"},
					},
				})
			},
			check: func(objs []*unstructured.Unstructured) {
				expectReplicas(objs, 2)
				webhook := find(objs, "Deployment", "secrets-store-integration-webhook")
				Expect(args(webhook, "webhook")).To(ContainElement("--store-addr=https://vault.example.com"))
			},
		}),
		Entry("plain Helm defaults: no globals, no internal values", chartCase{
			values: func() map[string]any { return map[string]any{} },
			check: func(objs []*unstructured.Unstructured) {
				expectReplicas(objs, 1)
				ds := find(objs, "DaemonSet", "csi-secrets-store")
				Expect(container(ds, "csi-driver")["image"]).To(Equal("registry.example/secrets-store-integration/csi-driver:0.1.0"))
				Expect(container(ds, "node-driver-registrar")["image"]).To(HavePrefix("registry.k8s.io/sig-storage/csi-node-driver-registrar:"))
				Expect(field(ds.Object, "spec", "template", "spec", "imagePullSecrets")).To(BeNil(), "plain Helm names no pull Secret")
				Expect(args(ds, "vault-provider")).To(ContainElements("--vault-addr="+strongholdURL, "--vault-auth-mount=kubernetes"))
				webhook := find(objs, "Deployment", "secrets-store-integration-webhook")
				controller := find(objs, "Deployment", "secrets-store-integration-controller")

				By("allowing only the module's store and audience vault, TLS always verified")
				for _, c := range []struct {
					obj       *unstructured.Unstructured
					container string
				}{{ds, "vault-provider"}, {webhook, "webhook"}, {controller, "controller"}} {
					Expect(args(c.obj, c.container)).To(ContainElement("--allowed-audiences=vault"), c.container)
					Expect(args(c.obj, c.container)).NotTo(ContainElement(Or(HavePrefix("--allowed-store-addresses"), HavePrefix("--allow-skip-tls-verify"))), c.container)
				}
				Expect(tokenAudiences(objs)).To(Equal([]string{"vault"}))
				Expect(args(webhook, "webhook")).To(ContainElement(
					"--injector-image=registry.example/secrets-store-integration/env-injector:0.1.0"))
				Expect(args(webhook, "webhook")).NotTo(ContainElement("--containerd-delivery"), "containerd delivery is off by default")

				// genCA/genSignedCert: a serving certificate for the
				// Service's names, signed by the caBundle's CA.
				tls := find(objs, "Secret", "secrets-store-integration-webhook-tls")
				data, _, _ := unstructured.NestedStringMap(tls.Object, "data")
				ca, crt := parseCert(data["ca.crt"]), parseCert(data["tls.crt"])
				pool := x509.NewCertPool()
				pool.AddCert(ca)
				_, err := crt.Verify(x509.VerifyOptions{
					Roots: pool, DNSName: "secrets-store-integration-webhook." + moduleNamespace + ".svc",
				})
				Expect(err).NotTo(HaveOccurred())
			},
		}),
	)
})

// nriKeys are the objects of containerd delivery.
func nriKeys(monitoring, policyEngine bool) []string {
	ns := moduleNamespace + "/"
	want := []string{"DaemonSet/" + ns + "secrets-store-nri-plugin", "ServiceAccount/" + ns + "secrets-store-nri-plugin"}
	if monitoring {
		want = append(want, "PodMonitor/"+ns+"secrets-store-nri-plugin", "VerticalPodAutoscaler/"+ns+"secrets-store-nri-plugin",
			"NodeGroupConfiguration/secrets-store-integration-nri.sh")
	}
	if policyEngine {
		want = append(want, "SecurityPolicyException/"+ns+"secrets-store-nri-plugin")
	}
	return want
}

// hostPaths are the hostPath folders of obj's pod template.
func hostPaths(obj *unstructured.Unstructured) []string {
	var used []string
	vols, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "volumes")
	for _, v := range vols {
		if hp, ok := v.(map[string]any)["hostPath"].(map[string]any); ok {
			used = append(used, hp["path"].(string))
		}
	}
	return used
}

// expectedKeys is what the chart renders besides templates/monitoring.yaml.
func expectedKeys(monitoring, storeCA bool) []string {
	ns := moduleNamespace + "/"
	want := []string{
		"Namespace/" + moduleNamespace,
		"CSIDriver/secrets-store.csi.deckhouse.io",
		"DaemonSet/" + ns + "csi-secrets-store",
		"ServiceAccount/" + ns + "csi-secrets-store",
		"ClusterRole/d8:secrets-store-integration:csi-secrets-store",
		"ClusterRoleBinding/d8:secrets-store-integration:csi-secrets-store",
		"Deployment/" + ns + "secrets-store-integration-webhook",
		"Service/" + ns + "secrets-store-integration-webhook",
		"Secret/" + ns + "secrets-store-integration-webhook-tls",
		"MutatingWebhookConfiguration/d8-secrets-store-integration-env-injection",
		"ValidatingWebhookConfiguration/d8-secrets-store-integration-imports",
		"PodDisruptionBudget/" + ns + "secrets-store-integration-webhook",
		"ServiceAccount/" + ns + "secrets-store-integration-webhook",
		"ClusterRole/d8:secrets-store-integration:webhook",
		"ClusterRoleBinding/d8:secrets-store-integration:webhook",
		"Deployment/" + ns + "secrets-store-integration-controller",
		"ServiceAccount/" + ns + "secrets-store-integration-controller",
		"ClusterRole/d8:secrets-store-integration:controller",
		"ClusterRoleBinding/d8:secrets-store-integration:controller",
		"ValidatingAdmissionPolicy/d8-secrets-store-integration-controller-rollout",
		"ValidatingAdmissionPolicyBinding/d8-secrets-store-integration-controller-rollout",
		"Role/" + ns + "secrets-store-integration-controller",
		"RoleBinding/" + ns + "secrets-store-integration-controller",
		"PodDisruptionBudget/" + ns + "secrets-store-integration-controller",
		"ClusterRole/d8:user-authz:secrets-store-integration:user",
		"ClusterRole/d8:user-authz:secrets-store-integration:editor",
	}
	if storeCA {
		want = append(want, "ConfigMap/"+ns+"secrets-store-integration-store-ca")
	}
	if monitoring {
		for _, name := range []string{"csi-secrets-store", "secrets-store-integration-webhook", "secrets-store-integration-controller"} {
			want = append(want, "PodMonitor/"+ns+name, "VerticalPodAutoscaler/"+ns+name)
		}
	}
	return want
}

// expectLintClean runs `helm lint`'s checks on the chart directory.
func expectLintClean(values map[string]any) {
	GinkgoHelper()
	result := action.NewLint().Run([]string{root}, values)
	for _, msg := range result.Messages {
		Expect(msg.Severity).To(BeNumerically("<", support.ErrorSev), msg.Error())
	}
	Expect(result.Errors).To(BeEmpty())
}

// expectHookCert checks that the hook's certificate, not a generated one,
// serves the webhook and is its caBundle.
func expectHookCert(objs []*unstructured.Unstructured) {
	GinkgoHelper()
	tls := find(objs, "Secret", "secrets-store-integration-webhook-tls")
	data, _, _ := unstructured.NestedStringMap(tls.Object, "data")
	b64 := base64.StdEncoding.EncodeToString
	Expect(data).To(Equal(map[string]string{
		"ca.crt":  b64([]byte(webhookCert["ca"].(string))),
		"tls.crt": b64([]byte(webhookCert["crt"].(string))),
		"tls.key": b64([]byte(webhookCert["key"].(string))),
	}))
	Expect(caBundle(objs)).To(Equal(b64([]byte(webhookCert["ca"].(string)))))
}

// expectReplicas checks both Deployments' replicas, and that two replicas
// never share a node.
func expectReplicas(objs []*unstructured.Unstructured, n int64) {
	GinkgoHelper()
	for _, name := range []string{"secrets-store-integration-webhook", "secrets-store-integration-controller"} {
		d := find(objs, "Deployment", name)
		Expect(field(d.Object, "spec", "replicas")).To(BeEquivalentTo(n), name)
		terms, found, _ := unstructured.NestedSlice(d.Object,
			"spec", "template", "spec", "affinity", "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
		if n > 1 {
			Expect(terms).To(ConsistOf(HaveKeyWithValue("topologyKey", "kubernetes.io/hostname")), name)
		} else {
			Expect(found).To(BeFalse(), name)
		}
	}
}

// expectWebhookAsComponents checks that the rendered webhook registration is
// components.WebhookConfiguration's, which the webhook's integration tests
// register with a real kube-apiserver: the same rules, selectors, match
// conditions and policies. Only the client configuration differs (a
// Service here, a URL there).
func expectWebhookAsComponents(objs []*unstructured.Unstructured) {
	GinkgoHelper()
	var got admissionregistrationv1.MutatingWebhookConfiguration
	mwc := find(objs, "MutatingWebhookConfiguration", "d8-secrets-store-integration-env-injection")
	Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(mwc.Object, &got)).To(Succeed())
	want := components.WebhookConfiguration(mwc.GetName(), "https://unused", nil)
	Expect(got.Webhooks).To(HaveLen(1))
	got.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{}
	want.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{}
	Expect(got.Webhooks).To(Equal(want.Webhooks))
	Expect(components.SystemNamespaces).To(ContainElement(moduleNamespace))

	var gotImports admissionregistrationv1.ValidatingWebhookConfiguration
	vwc := find(objs, "ValidatingWebhookConfiguration", "d8-secrets-store-integration-imports")
	Expect(vwc).NotTo(BeNil())
	Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(vwc.Object, &gotImports)).To(Succeed())
	Expect(gotImports.Webhooks).To(HaveLen(1))
	client := gotImports.Webhooks[0].ClientConfig
	Expect(client.Service).NotTo(BeNil())
	Expect(*client.Service).To(HaveField("Path", HaveValue(Equal(components.ImportPath))))
	Expect(client.Service.Name).To(Equal("secrets-store-integration-webhook"))
	Expect(base64.StdEncoding.EncodeToString(client.CABundle)).To(Equal(caBundle(objs)), "the same CA as the mutating webhook's")
	wantImports := components.ImportValidation(vwc.GetName(), "https://unused", nil)
	gotImports.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{}
	wantImports.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{}
	Expect(gotImports.Webhooks).To(Equal(wantImports.Webhooks))

	By("letting the webhook ask the API server what a writer may do")
	role := find(objs, "ClusterRole", "d8:secrets-store-integration:webhook")
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	Expect(rules).To(ContainElement(And(
		HaveKeyWithValue("apiGroups", ConsistOf("authorization.k8s.io")),
		HaveKeyWithValue("resources", ConsistOf("subjectaccessreviews")),
		HaveKeyWithValue("verbs", ConsistOf("create")))))
}

// tokenAudiences are the audiences of the CSIDriver's tokenRequests.
func tokenAudiences(objs []*unstructured.Unstructured) []string {
	GinkgoHelper()
	drv := find(objs, "CSIDriver", "secrets-store.csi.deckhouse.io")
	Expect(drv).NotTo(BeNil())
	list, _, _ := unstructured.NestedSlice(drv.Object, "spec", "tokenRequests")
	var out []string
	for _, r := range list {
		out = append(out, r.(map[string]any)["audience"].(string))
	}
	return out
}

func caBundle(objs []*unstructured.Unstructured) string {
	GinkgoHelper()
	mwc := find(objs, "MutatingWebhookConfiguration", "d8-secrets-store-integration-env-injection")
	Expect(mwc).NotTo(BeNil())
	hooks, _, _ := unstructured.NestedSlice(mwc.Object, "webhooks")
	Expect(hooks).To(HaveLen(1))
	bundle, _, _ := unstructured.NestedString(hooks[0].(map[string]any), "clientConfig", "caBundle")
	return bundle
}

func parseCert(b64 string) *x509.Certificate {
	GinkgoHelper()
	data, err := base64.StdEncoding.DecodeString(b64)
	Expect(err).NotTo(HaveOccurred())
	block, _ := pem.Decode(data)
	Expect(block).NotTo(BeNil())
	cert, err := x509.ParseCertificate(block.Bytes)
	Expect(err).NotTo(HaveOccurred())
	return cert
}

// field is the value at path in obj, nil when absent.
func field(obj map[string]any, path ...string) any {
	v, _, _ := unstructured.NestedFieldNoCopy(obj, path...)
	return v
}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, obj := range objs {
		if obj.GetKind() == kind && obj.GetName() == name {
			return obj
		}
	}
	return nil
}

func keys(objs []*unstructured.Unstructured) []string {
	out := make([]string, len(objs))
	for i, obj := range objs {
		out[i] = key(obj)
	}
	return out
}

// containers are the containers of a workload's pod template, init ones too.
func containers(obj *unstructured.Unstructured) []map[string]any {
	var out []map[string]any
	for _, field := range []string{"containers", "initContainers"} {
		list, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", field)
		for _, c := range list {
			out = append(out, c.(map[string]any))
		}
	}
	return out
}

func container(obj *unstructured.Unstructured, name string) map[string]any {
	i := slices.IndexFunc(containers(obj), func(c map[string]any) bool { return c["name"] == name })
	if i < 0 {
		return nil
	}
	return containers(obj)[i]
}

func args(obj *unstructured.Unstructured, name string) []string {
	GinkgoHelper()
	c := container(obj, name)
	Expect(c).NotTo(BeNil(), "container %s of %s", name, key(obj))
	return stringArgs(c)
}

func stringArgs(c map[string]any) []string {
	list, _, _ := unstructured.NestedStringSlice(c, "args")
	return list
}
