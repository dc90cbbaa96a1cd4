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

		By("creating the Pod object (no kubelet runs it) on the driver's node")
		created, err := env.Apply(ctx, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "Pod",
			"metadata": map[string]any{"namespace": ns, "name": podName},
			"spec": map[string]any{
				"nodeName":           nodeID,
				"serviceAccountName": appSA,
				"containers":         []any{map[string]any{"name": "app", "image": "registry.invalid/app:1"}},
			},
		}})
		Expect(err).NotTo(HaveOccurred())
		pod = components.Pod{Name: podName, Namespace: ns, UID: string(created.GetUID()), ServiceAccount: appSA}

		By("creating the SecretProviderClass with vault-csi-provider parameters")
		_, err = env.Apply(ctx, &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "secrets-store.csi.x-k8s.io/v1", "kind": "SecretProviderClass",
			"metadata": map[string]any{"namespace": ns, "name": spcName},
			"spec": map[string]any{
				"provider": "vault",
				"parameters": map[string]any{
					"roleName":        role,
					"vaultAddress":    env.VaultAddr,
					"vaultCACertPath": env.VaultCAPath,
					"objects":         objects,
				},
			},
		}})
		Expect(err).NotTo(HaveOccurred())

		// kubelet's layout pods/<uid>/volumes/...: the upstream driver reads
		// the pod UID from the target path on unpublish.
		vol, err = kubelet.NewVolume(pod.UID)
		Expect(err).NotTo(HaveOccurred())
	})

	publishRequest := func(ctx SpecContext, readonly bool) *csi.NodePublishVolumeRequest {
		GinkgoHelper()
		attrs, err := components.VolumeContext(ctx, env, pod)
		Expect(err).NotTo(HaveOccurred())
		attrs["secretProviderClass"] = spcName
		return &csi.NodePublishVolumeRequest{
			VolumeId:   vol.ID,
			TargetPath: vol.Target,
			Readonly:   readonly,
			VolumeCapability: &csi.VolumeCapability{
				AccessType: &csi.VolumeCapability_Mount{Mount: &csi.VolumeCapability_MountVolume{}},
				AccessMode: &csi.VolumeCapability_AccessMode{Mode: csi.VolumeCapability_AccessMode_SINGLE_NODE_WRITER},
			},
			VolumeContext: attrs,
		}
	}

	It("refuses a volume that is not read-only, as upstream requires", func(ctx SpecContext) {
		err := kubelet.Send(ctx, publishRequest(ctx, false))
		Expect(status.Code(err)).To(Equal(codes.InvalidArgument), "%v", err)
		_, mounted, err := components.MountAt(vol.Target)
		Expect(err).NotTo(HaveOccurred())
		Expect(mounted).To(BeFalse())
	})

	It("mounts a tmpfs with the Vault values", func(ctx SpecContext) {
		err := kubelet.Send(ctx, publishRequest(ctx, true))
		Expect(err).NotTo(HaveOccurred(), "upstream driver log:\n%s", driverLog.tail(30))

		m, mounted, err := components.MountAt(vol.Target)
		Expect(err).NotTo(HaveOccurred())
		Expect(mounted).To(BeTrue())
		Expect(m.FSType).To(Equal("tmpfs"))

		Expect(os.ReadFile(filepath.Join(vol.Target, "password"))).To(BeEquivalentTo(password))
		Expect(os.ReadFile(filepath.Join(vol.Target, "db-user"))).To(BeEquivalentTo("alice"))
		all, err := os.ReadFile(filepath.Join(vol.Target, "all.json"))
		Expect(err).NotTo(HaveOccurred())
		var data map[string]any
		Expect(json.Unmarshal(all, &data)).To(Succeed())
		Expect(data).To(HaveKeyWithValue("password", password))
		Expect(data).To(HaveKeyWithValue("user", "alice"))
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
