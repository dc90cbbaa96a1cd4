// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package compatmodule

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/deckhouse/secrets-store-integration/test/components"
)

// applyPod applies a testdata file and returns its Pod as the API server
// stored it (after our webhook).
func applyPod(ctx context.Context, file string) *corev1.Pod {
	GinkgoHelper()
	applied, err := env.ApplyFile(ctx, filepath.Join("testdata", file))
	Expect(err).NotTo(HaveOccurred())
	for _, u := range applied {
		if u.GetKind() != "Pod" {
			continue
		}
		pod, err := env.Kube.CoreV1().Pods(u.GetNamespace()).Get(ctx, u.GetName(), metav1.GetOptions{})
		Expect(err).NotTo(HaveOccurred())
		return pod
	}
	Fail("no Pod in " + file)
	return nil
}

// mutated checks that the webhook put the injector before the container's
// command, and that the spec holds references, not values.
func mutated(pod *corev1.Pod, secrets ...string) {
	GinkgoHelper()
	Expect(pod.Spec.InitContainers).NotTo(BeEmpty(), "the webhook mutated pod %s", pod.Name)
	c := pod.Spec.Containers[0]
	Expect(c.Command[0]).To(Equal("/secrets-store/bin/env-injector"))
	for _, e := range c.Env {
		for _, s := range secrets {
			Expect(e.Value).NotTo(ContainSubstring(s), "variable %s in the stored spec", e.Name)
		}
	}
}

// setting is the value of a variable the webhook gave the container.
func setting(pod *corev1.Pod, name string) string {
	GinkgoHelper()
	for _, e := range pod.Spec.Containers[0].Env {
		if e.Name == name {
			return e.Value
		}
	}
	Fail("no variable " + name + " in the mutated container")
	return ""
}

// environment starts the pod's first container as kubelet would (the
// page's command prints its environment every 5 s) and returns the first
// environment it prints, once every name of want is in it.
func environment(ctx context.Context, pod *corev1.Pod, want ...string) map[string]string {
	GinkgoHelper()
	c, err := components.PrepareContainer(ctx, env, pod, pod.Spec.Containers[0].Name, bins.Injector)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(c.Close)
	out, err := c.Start()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(c.Kill)
	got := map[string]string{}
	lines := bufio.NewScanner(out)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	for !hasAll(got, want) {
		Expect(lines.Scan()).To(BeTrue(), "the container ended before printing %v; injector: %s", want, c.Stderr.String())
		if k, v, ok := strings.Cut(lines.Text(), "="); ok {
			got[k] = v
		}
	}
	return got
}

func hasAll(m map[string]string, keys []string) bool {
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			return false
		}
	}
	return true
}

var _ = Describe("injecting environment variables (the existing module's USAGE)", func() {
	It("resolves the page's env snippets: a key, a pinned version 4, a template and a template of version 4", func(ctx SpecContext) {
		pod := applyPod(ctx, "env-snippets.yaml")
		mutated(pod, "secret-password", "s3cr3t")
		got := environment(ctx, pod, "PASSWORD", "PASSWORD_V4", "DATABASE_URL", "DATABASE_URL_V4")
		Expect(got["PASSWORD"]).To(Equal("secret-password"))
		Expect(got["PASSWORD_V4"]).To(Equal("password-v4"))
		Expect(got["DATABASE_URL"]).To(Equal("postgresql://app:rotated@db.example.com:5432/mydb"))
		Expect(got["DATABASE_URL_V4"]).To(Equal("postgresql://app:s3cr3t@db.example.com:5432/mydb"), "the page's value, version 4")
	})

	It("imports every key of the env-from-path paths, later paths winning (myapp1)", func(ctx SpecContext) {
		pod := applyPod(ctx, "myapp1.yaml")
		mutated(pod)
		Expect(setting(pod, "VAULT_ENV_FROM_PATH")).To(Equal("demo-kv/data/common-secret,demo-kv/data/myapp-secret"))
		got := environment(ctx, pod, "DB_USER", "DB_PASS", "COMMON", "MY_SECRET")
		Expect(got).To(HaveKeyWithValue("DB_USER", "username"), "myapp-secret, the later path, wins over common-secret")
		Expect(got).To(HaveKeyWithValue("DB_PASS", "secret-password"))
		Expect(got).To(HaveKeyWithValue("COMMON", "common-value"))
	})

	It("imports explicitly defined variables (myapp2)", func(ctx SpecContext) {
		pod := applyPod(ctx, "myapp2.yaml")
		mutated(pod, "secret-password")
		got := environment(ctx, pod, "DB_USER", "DB_PASS")
		Expect(got).To(HaveKeyWithValue("DB_USER", "username"))
		Expect(got).To(HaveKeyWithValue("DB_PASS", "secret-password"))
	})

	// The page's note: the env-from-path key wins over the container's own
	// MY_SECRET (a reference here), as the existing injector applies
	// env-from-path last.
	It("gives an env-from-path key over the container's own variable of the same name, as the page's note says", func(ctx SpecContext) {
		pod := applyPod(ctx, "precedence.yaml")
		mutated(pod)
		got := environment(ctx, pod, "MY_SECRET", "COMMON")
		Expect(got).To(HaveKeyWithValue("MY_SECRET", "from-annotation"))
		Expect(got).To(HaveKeyWithValue("COMMON", "common-value"))
	})

	It("resolves references kept in a ConfigMap and a Secret connected with envFrom", func(ctx SpecContext) {
		pod := applyPod(ctx, "envfrom.yaml")
		mutated(pod)
		got := environment(ctx, pod, "PASSWORD", "DATABASE_URL")
		Expect(got).To(HaveKeyWithValue("PASSWORD", "secret-password"))
		Expect(got).To(HaveKeyWithValue("DATABASE_URL", "postgresql://app:rotated@db.example.com:5432/mydb"))
	})

	It("logs in with the token at service-account-token-path", func(ctx SpecContext) {
		pod := applyPod(ctx, "token-path.yaml")
		mutated(pod, "secret-password")
		Expect(setting(pod, "VAULT_SA_TOKEN_PATH")).To(Equal("/var/run/secrets/tokens/vault-token"))
		got := environment(ctx, pod, "PASSWORD")
		Expect(got).To(HaveKeyWithValue("PASSWORD", "secret-password"))
	})

	// The restart itself (a changed value stops the application, exit 75)
	// is the injector suite's "watch-for-data" spec with a short interval:
	// the page's 120s would make this suite wait minutes.
	It("runs watch-for-data with the page's poll interval", func(ctx SpecContext) {
		pod := applyPod(ctx, "watch-for-data.yaml")
		mutated(pod, "secret-password")
		Expect(setting(pod, "VAULT_RESTART_ON_SECRET_CHANGE")).To(Equal("watch-for-data"))
		interval, err := time.ParseDuration(setting(pod, "VAULT_SECRET_POLL_INTERVAL"))
		Expect(err).NotTo(HaveOccurred())
		Expect(interval).To(Equal(120*time.Second), "the page's interval, not our default of 5m")
		got := environment(ctx, pod, "PASSWORD")
		Expect(got).To(HaveKeyWithValue("PASSWORD", "secret-password"))
	})
})

var _ = Describe("mounting a secret as a file (the existing module's USAGE)", Ordered, func() {
	var pod corev1.Pod

	BeforeAll(func(ctx SpecContext) {
		applied, err := env.ApplyFile(ctx, filepath.Join("testdata", "myapp-ssi.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(applied).To(HaveLen(2))
		Expect(applied[0].GetKind()).To(Equal("SecretsStoreImport"))
		Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(applied[1].Object, &pod)).To(Succeed())
	})

	// publish sends the NodePublishVolume call kubelet makes for the pod's
	// csi volume, readOnly as the pod has it unless forced.
	publish := func(ctx context.Context, n int, readOnly bool) (components.Volume, error) {
		v, err := kubelet.NewVolume(fmt.Sprintf("%s-%d", pod.Name, n))
		Expect(err).NotTo(HaveOccurred())
		p := components.Pod{Name: pod.Name, Namespace: pod.Namespace, UID: fmt.Sprintf("0d0c5e00-0000-4000-8000-%012d", n),
			ServiceAccount: pod.Spec.ServiceAccountName}
		attrs, err := components.VolumeContext(ctx, env, p, "vault")
		Expect(err).NotTo(HaveOccurred())
		src := pod.Spec.Volumes[0].CSI
		Expect(src.Driver).To(Equal("secrets-store.csi.deckhouse.io"))
		for k, val := range src.VolumeAttributes {
			attrs[k] = val
		}
		err = kubelet.Send(ctx, components.NodePublishRequest(v, p, readOnly, attrs))
		if err == nil {
			DeferCleanup(func(ctx SpecContext) { Expect(kubelet.Unpublish(ctx, v)).To(Succeed()) })
		}
		return v, err
	}

	// REFUSED as written: the page's pod has no readOnly: true on its csi
	// volume, and our driver refuses a writable secrets volume
	// (docs/SECURITY.md); the message says what to add.
	It("refuses the page's myapp3 volume, which is not read-only, saying to set readOnly: true", func(ctx SpecContext) {
		Expect(pod.Spec.Volumes[0].CSI.ReadOnly).To(BeNil(), "the page's pod, as written")
		_, err := publish(ctx, 1, false)
		Expect(err).To(MatchError(ContainSubstring("the volume is not read-only: set readOnly: true on the pod's csi volume")))
	})

	It("with readOnly: true, puts DB_PASS in db-password, as the page says", func(ctx SpecContext) {
		v, err := publish(ctx, 2, true)
		Expect(err).NotTo(HaveOccurred())
		data, err := os.ReadFile(filepath.Join(v.Target, "db-password"))
		Expect(err).NotTo(HaveOccurred())
		Expect(string(data)).To(Equal("secret-password"))
	})

	It("decodes the Base64 keytab into a binary file (the binary example's import)", func(ctx SpecContext) {
		applied, err := env.ApplyFile(ctx, filepath.Join("testdata", "keytab-ssi.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(applied).To(HaveLen(1))
		Expect(applied[0].GetName()).To(Equal(pod.Spec.Volumes[0].CSI.VolumeAttributes["secretsStoreImport"]))
		v, err := publish(ctx, 3, true)
		Expect(err).NotTo(HaveOccurred())
		data, err := os.ReadFile(filepath.Join(v.Target, "keytab"))
		Expect(err).NotTo(HaveOccurred())
		Expect(data).To(Equal(keytab))
		_, err = os.Stat(filepath.Join(v.Target, "db-password"))
		Expect(os.IsNotExist(err)).To(BeTrue(), "the replaced import has only keytab")
	})
})
