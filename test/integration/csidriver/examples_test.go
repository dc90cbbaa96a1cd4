// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package csidriver

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// The example of docs/USAGE.md, as a user would follow it: the store is set
// up by the commands of docs/examples/csi/vault-setup.sh, the
// SecretsStoreImport and the pod are the files next to it, and the volume
// holds what the documentation says it holds.
var _ = Describe("docs/examples/csi", Ordered, func() {
	var (
		dir     string
		example corev1.Pod
		p       components.Pod
		v       components.Volume
		ssiName string
	)

	BeforeAll(func(ctx SpecContext) {
		dir = filepath.Join(root, "docs", "examples", "csi")
		example = examplePod(filepath.Join(dir, "pod.yaml"))
		fsGroup := example.Spec.SecurityContext.FSGroup
		Expect(fsGroup).NotTo(BeNil())
		p = components.Pod{Name: example.Name, Namespace: example.Namespace, UID: "0d0c5e00-0000-4000-8000-000000000001",
			ServiceAccount: example.Spec.ServiceAccountName, FSGroup: "1000"}
		Expect(*fsGroup).To(BeEquivalentTo(1000))

		_, err := env.CreateServiceAccount(ctx, p.Namespace, p.ServiceAccount)
		Expect(err).NotTo(HaveOccurred())
		Expect(env.RunVaultScript(ctx, filepath.Join(dir, "vault-setup.sh"))).To(Succeed())

		applied, err := env.ApplyFile(ctx, filepath.Join(dir, "secretsstoreimport.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(applied).To(HaveLen(1))
		Expect(applied[0].GetKind()).To(Equal("SecretsStoreImport"))
		Expect(applied[0].GetNamespace()).To(Equal(p.Namespace), "the SecretsStoreImport lives in the pod's namespace")
		ssiName = applied[0].GetName()

		By("the pod's volume names the driver and the SecretsStoreImport")
		Expect(example.Spec.Volumes).To(HaveLen(1))
		csiSource := example.Spec.Volumes[0].CSI
		Expect(csiSource).NotTo(BeNil())
		Expect(csiSource.Driver).To(Equal("secrets-store.csi.deckhouse.io"))
		Expect(csiSource.ReadOnly).To(HaveValue(BeTrue()))
		Expect(csiSource.VolumeAttributes).To(Equal(map[string]string{"secretsStoreImport": ssiName}))
	})

	AfterAll(func(ctx SpecContext) {
		if v.Target != "" {
			Expect(kubelet.Unpublish(ctx, v)).To(Succeed())
		}
	})

	It("delivers the files docs/USAGE.md lists, with their modes and the pod's fsGroup", func(ctx SpecContext) {
		v = newVolume("docs-example")
		Expect(kubelet.Publish(ctx, v, p, ssiName)).To(Succeed())

		Expect(files(v.Target)).To(Equal([]string{
			"config.json", "db/dsn", "db/password", "db/username", "tls/ca.crt", "tls/tls.crt", "tls/tls.key",
		}))
		Expect(read(filepath.Join(v.Target, "db/username"))).To(Equal("myapp"))
		Expect(read(filepath.Join(v.Target, "db/password"))).To(Equal("s3cr3t:p@ss/word"))
		Expect(read(filepath.Join(v.Target, "db/dsn"))).To(Equal(
			"postgresql://myapp:s3cr3t%3Ap%40ss%2Fword@postgres.myapp.svc:5432/myapp"))
		Expect(read(filepath.Join(v.Target, "config.json"))).To(MatchJSON(`{"username":"myapp","password":"s3cr3t:p@ss/word"}`))

		cert := pemCert(read(filepath.Join(v.Target, "tls/tls.crt")))
		Expect(cert.DNSNames).To(ContainElement("web.myapp.svc"))
		Expect(keyMatches(read(filepath.Join(v.Target, "tls/tls.key")), cert)).To(BeTrue(), "tls.key is the key of tls.crt")
		Expect(cert.CheckSignatureFrom(pemCert(read(filepath.Join(v.Target, "tls/ca.crt"))))).To(Succeed())

		modes := map[string]os.FileMode{
			"config.json": 0o440, "db/dsn": 0o440, "db/password": 0o440, "db/username": 0o644,
			"tls/ca.crt": 0o644, "tls/tls.crt": 0o644, "tls/tls.key": 0o440,
		}
		for name, mode := range modes {
			info, err := os.Stat(filepath.Join(v.Target, name))
			Expect(err).NotTo(HaveOccurred())
			Expect(info.Mode().Perm()).To(Equal(mode), name)
			Expect(info.Sys().(*syscall.Stat_t).Gid).To(BeEquivalentTo(1000), name)
		}
		info, err := os.Stat(v.Target)
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o750)), "the volume's root")
		Expect(info.Sys().(*syscall.Stat_t).Gid).To(BeEquivalentTo(1000))
		link, err := os.Readlink(filepath.Join(v.Target, "db"))
		Expect(err).NotTo(HaveOccurred())
		Expect(link).To(Equal("..data/db"))
	})

	It("rotates a changed value and keeps the certificate while it is fresh", func(ctx SpecContext) {
		serial := pemCert(read(filepath.Join(v.Target, "tls/tls.crt"))).SerialNumber
		_, err := env.Vault.KVv2(testenv.KVMount).Patch(ctx, "myapp", map[string]any{"password": "rotated"})
		Expect(err).NotTo(HaveOccurred())
		Eventually(ctx, func() string {
			Expect(kubelet.Publish(ctx, v, p, ssiName)).To(Succeed())
			return read(filepath.Join(v.Target, "db/password"))
		}).WithTimeout(30 * time.Second).WithPolling(time.Second).Should(Equal("rotated"))
		Expect(read(filepath.Join(v.Target, "db/dsn"))).To(ContainSubstring("myapp:rotated@"))
		Expect(pemCert(read(filepath.Join(v.Target, "tls/tls.crt"))).SerialNumber).To(Equal(serial), "no re-issue while the certificate is fresh")
	})
})

// examplePod returns the Pod of a manifest file that may hold other objects.
func examplePod(path string) corev1.Pod {
	GinkgoHelper()
	data, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var u unstructured.Unstructured
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			break
		}
		Expect(err).NotTo(HaveOccurred())
		if u.GetKind() != "Pod" {
			continue
		}
		var out corev1.Pod
		Expect(runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &out)).To(Succeed())
		return out
	}
	Fail("no Pod in " + path)
	return corev1.Pod{}
}

func pemCert(data string) *x509.Certificate {
	GinkgoHelper()
	block, _ := pem.Decode([]byte(data))
	Expect(block).NotTo(BeNil(), "certificate PEM")
	cert, err := x509.ParseCertificate(block.Bytes)
	Expect(err).NotTo(HaveOccurred())
	return cert
}

// keyMatches reports whether a PEM private key is the key of cert.
func keyMatches(data string, cert *x509.Certificate) bool {
	GinkgoHelper()
	key, err := testenv.ParsePrivateKey([]byte(data))
	Expect(err).NotTo(HaveOccurred())
	return testenv.KeyMatches(key, cert)
}
