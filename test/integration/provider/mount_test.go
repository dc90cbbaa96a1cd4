// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"strconv"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	pb "sigs.k8s.io/secrets-store-csi-driver/provider/v1alpha1"

	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	ns       = "prov"
	appSA    = "app"
	otherSA  = "other"
	sharedSA = "shared"
	role     = "app"
	source   = "SecretsStoreImport prov/app"
)

// binary is a value that is not valid UTF-8, as a keystore would be.
var binary = []byte{0x00, 0x01, 0xfe, 0xff, 0x80, 'k', 'e', 'y'}

var _ = Describe("vault-provider", Ordered, func() {
	BeforeAll(func(ctx SpecContext) {
		for _, sa := range []string{appSA, otherSA, sharedSA} {
			_, err := env.CreateServiceAccount(ctx, ns, sa)
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(env.WritePolicy(ctx, "prov-app", `
path "secret/data/app"    { capabilities = ["read"] }
path "secret/data/shared" { capabilities = ["read"] }
path "kv1/app"            { capabilities = ["read"] }
path "pki/issue/web"      { capabilities = ["create", "update"] }
`)).To(Succeed())
		Expect(env.WriteKubernetesRole(ctx, role, testenv.KubernetesRole{
			ServiceAccounts: []string{appSA, sharedSA},
			Namespaces:      []string{ns},
			Policies:        []string{"prov-app"},
			Audience:        "vault",
			TTL:             10 * time.Minute,
		})).To(Succeed())

		kv := env.Vault.KVv2(testenv.KVMount)
		_, err := kv.Put(ctx, "app", map[string]any{"password": "v1-pass"})
		Expect(err).NotTo(HaveOccurred())
		_, err = kv.Put(ctx, "app", map[string]any{
			"password": "v2-pass", "user": "svc", "blob": base64.StdEncoding.EncodeToString(binary),
		})
		Expect(err).NotTo(HaveOccurred())
		_, err = kv.Put(ctx, "shared", map[string]any{"token": "shared-value"})
		Expect(err).NotTo(HaveOccurred())
		Expect(env.Vault.KVv1(testenv.KVv1Mount).Put(ctx, "app", map[string]any{"api-key": "kv1-value"})).To(Succeed())

		Expect(env.Vault.Sys().MountWithContext(ctx, "pki", &vault.MountInput{
			Type: "pki", Config: vault.MountConfigInput{MaxLeaseTTL: "87600h"},
		})).To(Succeed())
		_, err = env.Vault.Logical().WriteWithContext(ctx, "pki/root/generate/internal",
			map[string]any{"common_name": "test-ca", "ttl": "8760h", "key_type": "ec", "key_bits": 256})
		Expect(err).NotTo(HaveOccurred())
		_, err = env.Vault.Logical().WriteWithContext(ctx, "pki/roles/web", map[string]any{
			"allowed_domains": "example.com", "allow_subdomains": true, "max_ttl": "72h",
			"key_type": "ec", "key_bits": 256,
		})
		Expect(err).NotTo(HaveOccurred())
	})

	It("delivers KV v2 and KV v1 keys, a pinned version, a base64 binary, a template and the whole secret", func(ctx SpecContext) {
		resp, err := mount(ctx, podAttributes(ctx, "web-1", appSA, map[string]string{
			"source": source,
			"objects": `
- objectName: password
  secretPath: secret/data/app
  secretKey: password
  ref: files[0]
- objectName: api-key
  secretPath: kv1/app
  secretKey: api-key
  ref: files[1]
- objectName: old-password
  secretPath: secret/app
  secretKey: password
  version: 1
  ref: files[2]
- objectName: keystore.bin
  secretPath: secret/data/app
  secretKey: blob
  encoding: base64
  filePermission: 0400
  ref: files[3]
- objectName: config/dsn
  secretPath: secret/data/app
  template: 'postgres://{{ .user }}:{{ .password | urlquery }}@db/{{ .user | upper }}'
  ref: files[4]
- objectName: all.json
  secretPath: secret/data/app
  ref: files[5]
`}), "420", nil)
		Expect(err).NotTo(HaveOccurred())
		files := byPath(resp.Files)
		Expect(files).To(HaveLen(6))
		Expect(string(files["password"].Contents)).To(Equal("v2-pass"))
		Expect(string(files["api-key"].Contents)).To(Equal("kv1-value"))
		Expect(string(files["old-password"].Contents)).To(Equal("v1-pass"))
		Expect(files["keystore.bin"].Contents).To(Equal(binary))
		Expect(files["keystore.bin"].Mode).To(Equal(int32(0o400)))
		Expect(files["password"].Mode).To(Equal(int32(0o644)))
		Expect(string(files["config/dsn"].Contents)).To(Equal("postgres://svc:v2-pass@db/SVC"))
		var whole map[string]string
		Expect(json.Unmarshal(files["all.json"].Contents, &whole)).To(Succeed())
		Expect(whole).To(Equal(map[string]string{
			"password": "v2-pass", "user": "svc", "blob": base64.StdEncoding.EncodeToString(binary),
		}))

		versions := byID(resp.ObjectVersion)
		Expect(versions).To(HaveLen(6))
		for name, v := range versions {
			Expect(v).To(MatchRegexp(`^[0-9a-f]{32}$`), "version of %s", name)
			Expect(v).NotTo(ContainSubstring(string(files[name].Contents)))
		}
		Expect(versions["password"]).NotTo(Equal(versions["old-password"]))

		again, err := mount(ctx, podAttributes(ctx, "web-1", appSA, map[string]string{
			"source":  source,
			"objects": `[{"objectName":"password","secretPath":"secret/data/app","secretKey":"password"}]`,
		}), "420", nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(byID(again.ObjectVersion)["password"]).To(Equal(versions["password"]), "same content, same version")
	})

	It("accepts vault-csi-provider's parameters as the upstream driver sends them", func(ctx SpecContext) {
		attrs := podAttributes(ctx, "upstream-1", appSA, map[string]string{
			"vaultAddress":             env.VaultAddr,
			"vaultKubernetesMountPath": testenv.KubernetesAuthMount,
			"vaultCACertPath":          env.VaultCAPath,
			"objects": `
- objectName: "db-password"
  secretPath: "secret/data/app"
  secretKey: "password"
  filePermission: 0600
- objectName: "legacy"
  secretPath: "kv1/app"
  secretKey: "api-key"
- objectName: "old-password"
  secretPath: "secret/data/app?version=1"
  secretKey: "password"
- objectName: "legacy.json"
  secretPath: "kv1/app"
`,
		})
		delete(attrs, "source")
		resp, err := mount(ctx, attrs, "420", nil)
		Expect(err).NotTo(HaveOccurred())
		files := byPath(resp.Files)
		Expect(string(files["db-password"].Contents)).To(Equal("v2-pass"))
		Expect(files["db-password"].Mode).To(Equal(int32(0o600)))
		Expect(string(files["legacy"].Contents)).To(Equal("kv1-value"))
		Expect(string(files["old-password"].Contents)).To(Equal("v1-pass"))
		// Without secretKey: vault-csi-provider's whole response; KV v1
		// has the values right under data.
		var whole map[string]any
		Expect(json.Unmarshal(files["legacy.json"].Contents, &whole)).To(Succeed())
		Expect(whole).To(HaveKey("request_id"))
		Expect(whole).To(HaveKey("lease_duration"))
		Expect(whole).To(HaveKeyWithValue("data", HaveKeyWithValue("api-key", "kv1-value")))
	})

	It("issues one PKI certificate for the cert and key of a mount, and keeps it while fresh when the driver asks", func(ctx SpecContext) {
		objects := `
- objectName: tls.crt
  secretPath: pki/issue/web
  method: PUT
  secretArgs: {common_name: www.example.com, ttl: 1h}
  secretKey: certificate
- objectName: tls.key
  secretPath: pki/issue/web
  method: PUT
  secretArgs: {ttl: 1h, common_name: www.example.com}
  secretKey: private_key
  filePermission: 0600
`
		resp, err := mount(ctx, podAttributes(ctx, "tls-1", appSA, map[string]string{"objects": objects}), "420", nil)
		Expect(err).NotTo(HaveOccurred())
		files := byPath(resp.Files)
		cert := parseCert(files["tls.crt"].Contents)
		Expect(cert.DNSNames).To(ContainElement("www.example.com"))
		key := parseKey(files["tls.key"].Contents)
		Expect(testenv.KeyMatches(key, cert)).To(BeTrue(), "certificate and key of one issue")
		Expect(files["tls.key"].Mode).To(Equal(int32(0o600)))

		versions := byID(resp.ObjectVersion)
		for _, name := range []string{"tls.crt", "tls.key"} {
			parts := strings.Split(versions[name], ":")
			Expect(parts).To(HaveLen(4), "leased version of %s: %q", name, versions[name])
			Expect(parts[0]).To(Equal("lease"))
			expiry, err := strconv.ParseInt(parts[2], 10, 64)
			Expect(err).NotTo(HaveOccurred())
			Expect(expiry).To(Equal(cert.NotAfter.Unix()), "the lease ends with the certificate")
		}

		current := resp.ObjectVersion
		By("our driver: keepUnchangedFiles with fresh leases → no re-issue")
		kept, err := mount(ctx, podAttributes(ctx, "tls-1", appSA, map[string]string{
			"objects": objects, "keepUnchangedFiles": "true",
		}), "420", current)
		Expect(err).NotTo(HaveOccurred())
		Expect(kept.Files).To(BeEmpty())
		Expect(byID(kept.ObjectVersion)).To(Equal(versions))

		By("the upstream driver (no keepUnchangedFiles): everything is read again")
		fresh, err := mount(ctx, podAttributes(ctx, "tls-1", appSA, map[string]string{"objects": objects}), "420", current)
		Expect(err).NotTo(HaveOccurred())
		Expect(fresh.Files).To(HaveLen(2))
		newCert := parseCert(byPath(fresh.Files)["tls.crt"].Contents)
		Expect(newCert.SerialNumber).NotTo(Equal(cert.SerialNumber))
		Expect(testenv.KeyMatches(parseKey(byPath(fresh.Files)["tls.key"].Contents), newCert)).To(BeTrue())
	})

	It("lets pods of one identity share a read, but not pods of another", func(ctx SpecContext) {
		objects := `[{"objectName":"token","secretPath":"secret/data/shared","secretKey":"token"}]`
		reads := func() float64 {
			return metric(ctx, "secrets_store_vault_provider_store_requests_total", map[string]string{"operation": "read", "result": "ok"})
		}
		hits := func() float64 { return metric(ctx, "secrets_store_vault_provider_shared_read_hits_total", nil) }
		readsBefore, hitsBefore := reads(), hits()

		for _, pod := range []string{"shared-1", "shared-2"} {
			resp, err := mount(ctx, podAttributes(ctx, pod, sharedSA, map[string]string{"objects": objects}), "420", nil)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(byPath(resp.Files)["token"].Contents)).To(Equal("shared-value"))
		}
		Expect(reads()-readsBefore).To(Equal(1.0), "two pods of one service account: one store read")
		Expect(hits() - hitsBefore).To(Equal(1.0))

		resp, err := mount(ctx, podAttributes(ctx, "app-3", appSA, map[string]string{"objects": objects}), "420", nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(byPath(resp.Files)["token"].Contents)).To(Equal("shared-value"))
		Expect(reads()-readsBefore).To(Equal(2.0), "another service account reads for itself")
	})

	It("presents a client certificate to a store that requires one", func(ctx SpecContext) {
		tls := func(extra map[string]string) map[string]string {
			attrs := map[string]string{
				"source":       source,
				"vaultAddress": env.VaultMTLSAddr,
				"vaultCACert":  string(env.VaultCAPEM),
				"objects":      `[{objectName: password, secretPath: secret/data/app, secretKey: password, ref: "files[0]"}]`,
			}
			for k, v := range extra {
				attrs[k] = v
			}
			return podAttributes(ctx, "mtls", appSA, attrs)
		}
		resp, err := mount(ctx, tls(map[string]string{
			"vaultTLSClientCertPath": env.VaultClientCertPath,
			"vaultTLSClientKeyPath":  env.VaultClientKeyPath,
		}), "420", nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(byPath(resp.Files)["password"].Contents)).To(Equal("v2-pass"))

		// The same identity without a certificate: the read above must not
		// be shared with a session that reaches the store another way.
		_, err = mount(ctx, tls(nil), "420", nil)
		Expect(err).To(HaveOccurred())
		Expect(status.Code(err)).To(Equal(codes.Unavailable), "%v", err)
		Expect(status.Convert(err).Message()).To(HavePrefix("SecretsStoreImport prov/app: "))
		// The store token of this identity is cached, so the read fails,
		// not a login. The TLS error's own wording depends on when TLS 1.3
		// reports the missing certificate (an alert, a reset, a failed
		// HTTP/2 connection); what could not be done is stable.
		Expect(status.Convert(err).Message()).To(ContainSubstring(`files[0]: read secret/data/app`))
	})

	It("names the object, the key and the path when a key is missing", func(ctx SpecContext) {
		_, err := mount(ctx, podAttributes(ctx, "web-2", appSA, map[string]string{
			"source": source,
			"objects": `
- {objectName: user, secretPath: secret/data/app, secretKey: user, ref: "files[0]"}
- {objectName: other, secretPath: kv1/app, secretKey: api-key, ref: "files[1]"}
- {objectName: pass, secretPath: secret/data/app, secretKey: pass, ref: "files[2]"}
`,
		}), "420", nil)
		Expect(err).To(HaveOccurred())
		Expect(status.Convert(err).Message()).To(Equal(`SecretsStoreImport prov/app: files[2]: key "pass" not found at secret/data/app`))
		Expect(err.Error()).NotTo(ContainSubstring("v2-pass"))
	})

	It("says permission denied with the path when the policy does not allow it", func(ctx SpecContext) {
		_, err := env.Vault.KVv2(testenv.KVMount).Put(ctx, "forbidden", map[string]any{"k": "forbidden-value"})
		Expect(err).NotTo(HaveOccurred())
		_, err = mount(ctx, podAttributes(ctx, "web-3", appSA, map[string]string{
			"source":  source,
			"objects": `[{"objectName":"x","secretPath":"secret/data/forbidden","secretKey":"k","ref":"files[0]"}]`,
		}), "420", nil)
		Expect(status.Code(err)).To(Equal(codes.PermissionDenied))
		Expect(status.Convert(err).Message()).To(Equal("SecretsStoreImport prov/app: files[0]: read secret/data/forbidden: permission denied"))
	})

	It("refuses a wrong role and a wrong service account with a clear message", func(ctx SpecContext) {
		objects := `[{"objectName":"p","secretPath":"secret/data/app","secretKey":"password"}]`

		_, err := mount(ctx, podAttributes(ctx, "web-4", appSA, map[string]string{"source": source, "roleName": "no-such-role", "objects": objects}), "420", nil)
		Expect(err).To(HaveOccurred())
		msg := status.Convert(err).Message()
		Expect(msg).To(HavePrefix(source + `: log in as role "no-such-role"`))
		Expect(msg).To(ContainSubstring("auth/kubernetes/login"))

		_, err = mount(ctx, podAttributes(ctx, "web-5", otherSA, map[string]string{"source": source, "objects": objects}), "420", nil)
		Expect(status.Code(err)).To(Equal(codes.PermissionDenied))
		msg = status.Convert(err).Message()
		Expect(msg).To(ContainSubstring(`log in as role "app"`))
		Expect(msg).To(ContainSubstring("service account name not authorized"))

		By("a token of another service account than the pod's")
		attrs := podAttributes(ctx, "web-6", appSA, map[string]string{"source": source, "objects": objects})
		attrs["csi.storage.k8s.io/serviceAccount.tokens"], err = components.TokenRequests(ctx, env, ns, otherSA)
		Expect(err).NotTo(HaveOccurred())
		_, err = mount(ctx, attrs, "420", nil)
		Expect(status.Code(err)).To(Equal(codes.InvalidArgument))
		Expect(status.Convert(err).Message()).To(ContainSubstring(`is for "prov:other", not for pod service account prov/app`))
	})

	It("logs mounts and failures without secret values or tokens", func() {
		lines := prov.Logs()
		Expect(lines).To(ContainElement(ContainSubstring(`"msg":"mounted"`)))
		Expect(lines).To(ContainElement(ContainSubstring(`"msg":"mount failed"`)))
		secrets := []string{"v2-pass", "v1-pass", "kv1-value", "shared-value", "forbidden-value",
			base64.StdEncoding.EncodeToString(binary), "PRIVATE KEY", "BEGIN CERTIFICATE",
			"eyJ",  // any JWT
			"hvs.", // any Vault token
		}
		for _, line := range lines {
			for _, s := range secrets {
				Expect(line).NotTo(ContainSubstring(s))
			}
		}
	})
})

// podAttributes are the attributes the upstream driver sends for a pod of
// namespace ns with ServiceAccount sa, plus extra.
func podAttributes(ctx context.Context, pod, sa string, extra map[string]string) map[string]string {
	attrs, err := components.VolumeContext(ctx, env, components.Pod{
		Name: pod, Namespace: ns, UID: "uid-" + pod, ServiceAccount: sa,
	})
	Expect(err).NotTo(HaveOccurred())
	attrs["roleName"] = role
	attrs["secretProviderClass"] = "ignored-by-provider"
	for k, v := range extra {
		attrs[k] = v
	}
	return attrs
}

func mount(ctx context.Context, attrs map[string]string, permission string, current []*pb.ObjectVersion) (*pb.MountResponse, error) {
	a, err := json.Marshal(attrs)
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return client.Mount(ctx, &pb.MountRequest{
		Attributes: string(a), Secrets: "{}", TargetPath: "/var/lib/kubelet/pods/x/volumes/y",
		Permission: permission, CurrentObjectVersion: current,
	})
}

func byPath(files []*pb.File) map[string]*pb.File {
	m := map[string]*pb.File{}
	for _, f := range files {
		m[f.Path] = f
	}
	return m
}

func byID(versions []*pb.ObjectVersion) map[string]string {
	m := map[string]string{}
	for _, v := range versions {
		m[v.Id] = v.Version
	}
	return m
}

func parseCert(data []byte) *x509.Certificate {
	block, _ := pem.Decode(data)
	Expect(block).NotTo(BeNil(), "certificate PEM")
	cert, err := x509.ParseCertificate(block.Bytes)
	Expect(err).NotTo(HaveOccurred())
	return cert
}

func parseKey(data []byte) crypto.Signer {
	GinkgoHelper()
	key, err := testenv.ParsePrivateKey(data)
	Expect(err).NotTo(HaveOccurred())
	return key
}

// metric scrapes the provider's /metrics and sums the samples of name
// whose labels include labels (nil: all); 0 if absent.
func metric(ctx context.Context, name string, labels map[string]string) float64 {
	m, err := prov.Scrape(ctx)
	Expect(err).NotTo(HaveOccurred())
	return m.Sum(name, labels)
}
