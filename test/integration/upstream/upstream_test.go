// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package upstream

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/container-storage-interface/spec/lib/go/csi"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	ns       = "demo"
	appSA    = "app"
	role     = "app"
	policy   = "app-read"
	readHCL  = `path "secret/data/app" { capabilities = ["read"] }`
	password = "s3cr3t-from-vault"
	podName  = "web-0"
	spcName  = "vault-app"
)

// objects is the vault-csi-provider objects parameter, as users write it in
// a SecretProviderClass.
const objects = `
- objectName: password
  secretPath: secret/data/app
  secretKey: password
- objectName: db-user
  secretPath: secret/data/app
  secretKey: user
- objectName: all.json
  secretPath: secret/data/app
`

var spcps = schema.GroupVersionResource{Group: "secrets-store.csi.x-k8s.io", Version: "v1", Resource: "secretproviderclasspodstatuses"}

var _ = Describe("the Vault provider under the upstream driver", Ordered, func() {
	var (
		pod components.Pod
		vol components.Volume
	)

	BeforeAll(func(ctx SpecContext) {
		_, err := env.CreateServiceAccount(ctx, ns, appSA)
		Expect(err).NotTo(HaveOccurred())
		Expect(env.WritePolicy(ctx, policy, readHCL)).To(Succeed())
		Expect(env.WriteKubernetesRole(ctx, role, testenv.KubernetesRole{
			ServiceAccounts: []string{appSA}, Namespaces: []string{ns}, Policies: []string{policy},
			Audience: components.Audience, TTL: 10 * time.Minute,
		})).To(Succeed())
		_, err = env.Vault.KVv2(testenv.KVMount).Put(ctx, "app", map[string]any{"password": password, "user": "alice"})
		Expect(err).NotTo(HaveOccurred())

		By("creating the Pod object and the SecretProviderClass with vault-csi-provider parameters")
		pod, err = applyPodAndClass(ctx, podName, appSA, spcName, role, objects)
		Expect(err).NotTo(HaveOccurred())

		// kubelet's layout pods/<uid>/volumes/...: the upstream driver reads
		// the pod UID from the target path on unpublish.
		vol, err = kubelet.NewVolume(pod.UID)
		Expect(err).NotTo(HaveOccurred())
	})

	publish := func(ctx SpecContext, readonly bool) *csi.NodePublishVolumeRequest {
		GinkgoHelper()
		req, err := publishRequest(ctx, pod, vol, spcName, readonly)
		Expect(err).NotTo(HaveOccurred())
		return req
	}

	It("refuses a volume that is not read-only, as upstream requires", func(ctx SpecContext) {
		err := kubelet.Send(ctx, publish(ctx, false))
		Expect(status.Code(err)).To(Equal(codes.InvalidArgument), "%v", err)
		_, mounted, err := components.MountAt(vol.Target)
		Expect(err).NotTo(HaveOccurred())
		Expect(mounted).To(BeFalse())
	})

	It("mounts a tmpfs with the Vault values", func(ctx SpecContext) {
		err := kubelet.Send(ctx, publish(ctx, true))
		Expect(err).NotTo(HaveOccurred(), "upstream driver log:\n%s", upstreamDriver.Tail(30))

		m, mounted, err := components.MountAt(vol.Target)
		Expect(err).NotTo(HaveOccurred())
		Expect(mounted).To(BeTrue())
		Expect(m.FSType).To(Equal("tmpfs"))

		Expect(os.ReadFile(filepath.Join(vol.Target, "password"))).To(BeEquivalentTo(password))
		Expect(os.ReadFile(filepath.Join(vol.Target, "db-user"))).To(BeEquivalentTo("alice"))
		all, err := os.ReadFile(filepath.Join(vol.Target, "all.json"))
		Expect(err).NotTo(HaveOccurred())
		// Without secretKey, vault-csi-provider writes the store's whole
		// response; for KV v2 the values are under data.data.
		var resp struct {
			Data struct {
				Data map[string]any `json:"data"`
			} `json:"data"`
		}
		Expect(json.Unmarshal(all, &resp)).To(Succeed())
		Expect(resp.Data.Data).To(HaveKeyWithValue("password", password))
		Expect(resp.Data.Data).To(HaveKeyWithValue("user", "alice"))
	})

	It("records the mount in a SecretProviderClassPodStatus with the object versions", func(ctx SpecContext) {
		client, err := dynamic.NewForConfig(env.Config)
		Expect(err).NotTo(HaveOccurred())
		// The upstream name: <pod>-<namespace>-<secretProviderClass>.
		obj, err := client.Resource(spcps).Namespace(ns).Get(ctx, podName+"-"+ns+"-"+spcName, metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		st, _, _ := unstructured.NestedMap(obj.Object, "status")
		Expect(st).To(HaveKeyWithValue("podName", podName))
		Expect(st).To(HaveKeyWithValue("secretProviderClassName", spcName))
		Expect(st).To(HaveKeyWithValue("mounted", true))
		versions, _, _ := unstructured.NestedSlice(obj.Object, "status", "objects")
		ids := []string{}
		for _, v := range versions {
			m := v.(map[string]any)
			ids = append(ids, m["id"].(string))
			Expect(m["version"]).NotTo(BeEmpty())
		}
		Expect(ids).To(ConsistOf("password", "db-user", "all.json"))
	})

	It("unmounts and removes the files on NodeUnpublishVolume", func(ctx SpecContext) {
		Expect(kubelet.Unpublish(ctx, vol)).To(Succeed())
		_, mounted, err := components.MountAt(vol.Target)
		Expect(err).NotTo(HaveOccurred())
		Expect(mounted).To(BeFalse())
		_, err = os.Stat(vol.Target)
		Expect(os.IsNotExist(err)).To(BeTrue(), "target %s still there: %v", vol.Target, err)
	})
})
