// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"

	"github.com/deckhouse/secrets-store-integration/test/scrape"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// What the webhook puts into pods (images/internal/injection).
const (
	injectorPath = "/secrets-store/bin/env-injector"
	tokenPath    = "/var/run/secrets/secrets-store/token"
	caCertPath   = "/secrets-store/tls/ca.crt"
	initName     = "secrets-store-env-injector"
	annPrefix    = "secrets-store.deckhouse.io/"
	deniedPrefix = `admission webhook "env-injection.secrets-store.deckhouse.io" denied the request: `
)

func withCommand(image string, command ...string) corev1.Container {
	return corev1.Container{Name: "app", Image: image, Command: command}
}

// optedIn is a pod of service account sa, annotated with role "app" and
// the given annotations (names without the prefix).
func optedIn(name string, c corev1.Container, kv ...string) *corev1.Pod {
	ann := map[string]string{annPrefix + "role": "app"}
	for i := 0; i < len(kv); i += 2 {
		ann[annPrefix+kv[i]] = kv[i+1]
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: ann},
		Spec:       corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{c}},
	}
}

func withPullSecret(p *corev1.Pod) *corev1.Pod {
	p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: pullSecret}}
	return p
}

func create(ctx context.Context, ns string, pod *corev1.Pod) (*corev1.Pod, error) {
	pod.GenerateName, pod.Name = pod.Name+"-", ""
	return env.Kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
}

func mustCreate(ctx context.Context, ns string, pod *corev1.Pod) *corev1.Pod {
	GinkgoHelper()
	got, err := create(ctx, ns, pod)
	Expect(err).NotTo(HaveOccurred())
	return got
}

func envOf(c corev1.Container) map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		m[e.Name] = e.Value
	}
	return m
}

func volume(pod *corev1.Pod, name string) *corev1.Volume {
	for i := range pod.Spec.Volumes {
		if pod.Spec.Volumes[i].Name == name {
			return &pod.Spec.Volumes[i]
		}
	}
	return nil
}

// runs says what a container of a mutated pod starts: the injector, then
// argv.
func runs(pod *corev1.Pod, argv ...string) {
	GinkgoHelper()
	c := pod.Spec.Containers[0]
	Expect(c.Command).To(Equal([]string{injectorPath, "--"}), "container %s command", c.Name)
	Expect(c.Args).To(Equal(argv), "container %s args", c.Name)
}

func scrapeWebhook(ctx context.Context) scrape.Metrics {
	GinkgoHelper()
	m, err := hook.Scrape(ctx)
	Expect(err).NotTo(HaveOccurred())
	return m
}

func admissions(ctx context.Context) float64 {
	return scrapeWebhook(ctx).Sum("secrets_store_webhook_admissions_total", nil)
}

var _ = Describe("an opted-in pod", func() {
	It("with a command runs it through the injector, with the injector's settings, token and memory volume", func(ctx SpecContext) {
		reads := reg.ManifestReads()
		c := withCommand(appImage, "/app", "serve")
		c.Args = []string{"--port=8080"}
		c.Env = []corev1.EnvVar{{Name: "DB_PASSWORD", Value: "secrets-store:secret/data/db#password"}}
		pod := mustCreate(ctx, team, optedIn("explicit", c))

		Expect(pod.Spec.InitContainers).To(HaveLen(1))
		init := pod.Spec.InitContainers[0]
		Expect(init.Name).To(Equal(initName))
		Expect(init.Image).To(Equal(injectorImage))
		Expect(init.Command).To(Equal([]string{"/env-injector", "--self-copy", "/secrets-store/bin"}))
		Expect(*init.SecurityContext.RunAsNonRoot).To(BeTrue())
		Expect(*init.SecurityContext.AllowPrivilegeEscalation).To(BeFalse())
		runs(pod, "/app", "serve", "--port=8080")

		vars := envOf(pod.Spec.Containers[0])
		Expect(vars).To(HaveKeyWithValue("DB_PASSWORD", "secrets-store:secret/data/db#password"))
		Expect(vars).To(HaveKeyWithValue("VAULT_ADDR", env.VaultAddr))
		Expect(vars).To(HaveKeyWithValue("VAULT_ROLE", "app"))
		Expect(vars).To(HaveKeyWithValue("VAULT_AUTH_PATH", "kubernetes"))
		Expect(vars).To(HaveKeyWithValue("VAULT_CACERT_PEM", string(env.VaultCAPEM)))
		Expect(vars).To(HaveKeyWithValue("VAULT_SA_TOKEN_PATH", tokenPath))

		mem := volume(pod, "secrets-store-injector")
		Expect(mem).NotTo(BeNil())
		Expect(mem.EmptyDir.Medium).To(Equal(corev1.StorageMediumMemory))
		tok := volume(pod, "secrets-store-token")
		Expect(tok).NotTo(BeNil())
		Expect(tok.Projected.Sources).To(HaveLen(1))
		Expect(tok.Projected.Sources[0].ServiceAccountToken.Audience).To(Equal("vault"))
		Expect(*tok.Projected.Sources[0].ServiceAccountToken.ExpirationSeconds).To(BeEquivalentTo(600))
		Expect(pod.Spec.Containers[0].VolumeMounts).To(ContainElements(
			corev1.VolumeMount{Name: "secrets-store-injector", MountPath: "/secrets-store/bin", ReadOnly: true},
			corev1.VolumeMount{Name: "secrets-store-token", MountPath: "/var/run/secrets/secrets-store", ReadOnly: true},
		))
		// What the API server's own admission added stays: the
		// service account's API token.
		Expect(pod.Spec.Volumes).To(ContainElement(HaveField("Name", HavePrefix("kube-api-access-"))))
		Expect(reg.ManifestReads()).To(Equal(reads), "a container with a command needs no registry lookup")
	})

	It("without a command runs its image's entrypoint, read with the pod's pull secret", func(ctx SpecContext) {
		p := optedIn("from-registry", corev1.Container{Name: "app", Image: appImage})
		p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: pullSecret}}
		runs(mustCreate(ctx, team, p), "/app", "serve")

		withArgs := optedIn("from-registry-args", corev1.Container{Name: "app", Image: appImage, Args: []string{"migrate", "--dry-run"}})
		withArgs.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: pullSecret}}
		runs(mustCreate(ctx, team, withArgs), "/app", "migrate", "--dry-run")

		// CMD only; its '$' reaches the shell as it is, not as $(VAR).
		shell := optedIn("cmd-only", corev1.Container{Name: "app", Image: cmdOnlyImage})
		shell.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: pullSecret}}
		runs(mustCreate(ctx, team, shell), "/bin/sh", "-c", "echo $$HOME")
	})

	It("without a command reads its image with the service account's pull secrets", func(ctx SpecContext) {
		p := optedIn("sa-pull", corev1.Container{Name: "app", Image: appImage})
		p.Spec.ServiceAccountName = saWithPull
		runs(mustCreate(ctx, team, p), "/app", "serve")
	})

	It("reads a multi-platform image for the platform its nodeSelector names", func(ctx SpecContext) {
		arm := optedIn("arm64", corev1.Container{Name: "app", Image: multiImage})
		arm.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: pullSecret}}
		arm.Spec.NodeSelector = map[string]string{"kubernetes.io/arch": "arm64", "kubernetes.io/os": "linux"}
		runs(mustCreate(ctx, team, arm), "/app-arm64")

		def := optedIn("default-platform", corev1.Container{Name: "app", Image: multiImage})
		def.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: pullSecret}}
		runs(mustCreate(ctx, team, def), "/app-amd64")
	})

	It("shares image lookups within a credential scope, never across namespaces", func(ctx SpecContext) {
		image, err := reg.Push("team/cached:v1", v1.Config{Entrypoint: []string{"/cached"}})
		Expect(err).NotTo(HaveOccurred())
		pod := func(name string) *corev1.Pod {
			p := optedIn(name, corev1.Container{Name: "app", Image: image})
			p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: pullSecret}}
			return p
		}
		reads := reg.ManifestReads()
		hits := scrapeWebhook(ctx).Sum("secrets_store_webhook_image_cache_requests_total", map[string]string{"result": "hit"})
		runs(mustCreate(ctx, team, pod("cached-1")), "/cached")
		Expect(reg.ManifestReads()).To(Equal(reads + 1))
		runs(mustCreate(ctx, team, pod("cached-2")), "/cached")
		Expect(reg.ManifestReads()).To(Equal(reads+1), "the second pod of the same scope is served from the cache")
		Expect(scrapeWebhook(ctx).Sum("secrets_store_webhook_image_cache_requests_total", map[string]string{"result": "hit"})).To(Equal(hits + 1))

		// team-b has no secret of that name: the cached config of team-a
		// must not let its pod through.
		_, err = create(ctx, stranger, pod("cached-stranger"))
		Expect(err).To(MatchError(ContainSubstring("unauthorized: the registry answered 401")))
	})

	It("with a risky setting is admitted with a warning", func(ctx SpecContext) {
		before := warnings.len()
		p := optedIn("skip-verify", withCommand(appImage, "/app"), "tls-skip-verify", "true", "skip-mutate-containers", "istio-proxy")
		p.GenerateName, p.Name = "skip-verify-", ""
		_, err := warned.CoreV1().Pods(team).Create(ctx, p, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(warnings.since(before)).To(ContainElements(
			ContainSubstring("tls-skip-verify: the store's certificate is not verified"),
			ContainSubstring(`names container "istio-proxy", which the pod does not have`),
		))
	})

	It("that hands the store token to the application (secrets-store:login) is admitted with a warning", func(ctx SpecContext) {
		before := warnings.len()
		c := withCommand(appImage, "/app")
		c.Env = []corev1.EnvVar{{Name: "VAULT_TOKEN", Value: "secrets-store:login"}, {Name: "AUTH", Value: "Bearer ${secrets-store:login}"}}
		p := optedIn("login", c)
		p.GenerateName, p.Name = "login-", ""
		pod, err := warned.CoreV1().Pods(team).Create(ctx, p, metav1.CreateOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(envOf(pod.Spec.Containers[0])).To(HaveKeyWithValue("VAULT_TOKEN", "secrets-store:login"), "the injector resolves it at start")
		Expect(warnings.since(before)).To(ContainElements(
			ContainSubstring(`container "app", variable VAULT_TOKEN takes the injector's store token (secrets-store:login)`),
			ContainSubstring(`container "app", variable AUTH takes the injector's store token`),
		))
	})

	It("with env-injector-pull-policy gets that imagePullPolicy on the injector's init container", func(ctx SpecContext) {
		pod := mustCreate(ctx, team, optedIn("pull-policy", withCommand(appImage, "/app"), "env-injector-pull-policy", "Never"))
		Expect(pod.Spec.InitContainers[0].Name).To(Equal(initName))
		Expect(pod.Spec.InitContainers[0].ImagePullPolicy).To(Equal(corev1.PullNever))
	})

	It("with tls-secret gets the Secret's CA mounted and named to the injector", func(ctx SpecContext) {
		pod := mustCreate(ctx, team, optedIn("tls-secret", withCommand(appImage, "/app"), "tls-secret", "vault-ca"))
		v := volume(pod, "secrets-store-tls")
		Expect(v).NotTo(BeNil())
		Expect(v.Secret.SecretName).To(Equal("vault-ca"))
		Expect(envOf(pod.Spec.Containers[0])).To(HaveKeyWithValue("VAULT_CACERT", caCertPath))
	})

	It("with mutate-probes starts exec probes through the injector; skipped containers stay", func(ctx SpecContext) {
		c := withCommand(appImage, "/app")
		c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"/app", "health"}}}}
		p := optedIn("probes", c, "mutate-probes", "true", "skip-mutate-containers", "proxy")
		proxy := withCommand("envoyproxy/envoy:v1.31", "/envoy")
		proxy.Name = "proxy"
		p.Spec.Containers = append(p.Spec.Containers, proxy)
		pod := mustCreate(ctx, team, p)
		Expect(pod.Spec.Containers[0].LivenessProbe.Exec.Command).To(Equal([]string{injectorPath, "--probe", "--", "/app", "health"}))
		Expect(pod.Spec.Containers[1].Command).To(Equal([]string{"/envoy"}))
		Expect(envOf(pod.Spec.Containers[1])).NotTo(HaveKey("VAULT_ADDR"))
	})

	It("that carries the injector already is left as it is", func(ctx SpecContext) {
		p := optedIn("injected", withCommand(appImage, "/app"))
		p.Spec.InitContainers = []corev1.Container{{Name: initName, Image: injectorImage, Command: []string{"/env-injector"}}}
		pod := mustCreate(ctx, team, p)
		Expect(pod.Spec.InitContainers).To(HaveLen(1))
		Expect(pod.Spec.Containers[0].Command).To(Equal([]string{"/app"}))
	})
})

var _ = Describe("a refused pod", func() {
	// Entries build their pod when they run: the images exist only once
	// the suite set up.
	DescribeTable("says which field is wrong and why",
		func(ctx SpecContext, pod func() *corev1.Pod, ns string, want ...string) {
			refused := scrapeWebhook(ctx).Sum("secrets_store_webhook_admissions_total", map[string]string{"result": "refused"})
			_, err := create(ctx, ns, pod())
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(HavePrefix(deniedPrefix))
			for _, w := range want {
				Expect(err.Error()).To(ContainSubstring(w))
			}
			Expect(scrapeWebhook(ctx).Sum("secrets_store_webhook_admissions_total", map[string]string{"result": "refused"})).To(Equal(refused + 1))
		},
		Entry("a malformed reference", func() *corev1.Pod {
			c := withCommand(appImage, "/app")
			c.Env = []corev1.EnvVar{{Name: "DB_PASSWORD", Value: "secrets-store:secret/data/db"}}
			return optedIn("bad-ref", c)
		}, team, `container "app", variable DB_PASSWORD`, "has no key"),
		Entry("a write to the store whose body is not JSON (the existing module's >>secrets-store:)", func() *corev1.Pod {
			c := withCommand(appImage, "/app")
			c.Env = []corev1.EnvVar{{Name: "TLS_CERT", Value: `>>secrets-store:pki/issue/web#certificate#{common_name: a.example.com}`}}
			return optedIn("write-ref", c)
		}, team, `container "app", variable TLS_CERT`, "is not a JSON object"),
		Entry("a template with the existing injector's file function", func() *corev1.Pod {
			c := withCommand(appImage, "/app")
			c.Env = []corev1.EnvVar{{Name: "CA", Value: `secrets-store:secret/data/db#${ file "/etc/ssl/ca.pem" }`}}
			return optedIn("file-func", c)
		}, team, `container "app", variable CA`, `function "file" (of the existing module's injector) is not supported`, "put the file's content in the store"),
		Entry("an unknown pull policy", func() *corev1.Pod {
			return optedIn("bad-pull", withCommand(appImage, "/app"), "env-injector-pull-policy", "always")
		}, team, "annotation secrets-store.deckhouse.io/env-injector-pull-policy", `"always" is not one of Always, IfNotPresent, Never`),
		Entry("an unknown restart mode", func() *corev1.Pod {
			return optedIn("bad-mode", withCommand(appImage, "/app"), "restart-on-secret-change", "on-change")
		}, team, "annotation secrets-store.deckhouse.io/restart-on-secret-change", `"on-change" is not one of none, watch-for-lease, watch-for-data`),
		Entry("a bad duration", func() *corev1.Pod {
			return optedIn("bad-duration", withCommand(appImage, "/app"), "client-timeout", "5 minutes")
		}, team, "annotation secrets-store.deckhouse.io/client-timeout", `"5 minutes" is not a duration`),
		Entry("an image without registry credentials", func() *corev1.Pod {
			return optedIn("no-creds", corev1.Container{Name: "app", Image: appImage})
		}, stranger, `container "app" sets no command`, "unauthorized: the registry answered 401 Unauthorized", "set the container's command"),
	)

	It("never has a variable's value in the webhook's log", func(ctx SpecContext) {
		c := withCommand(appImage, "/app")
		c.Env = []corev1.EnvVar{{Name: "TOKEN", Value: "${secrets-store:oops-hunter2"}, {Name: "PLAIN", Value: "hunter2-plain"}}
		_, err := create(ctx, team, optedIn("no-leak", c))
		Expect(err).To(MatchError(ContainSubstring(`variable TOKEN`)))
		Expect(strings.Join(hook.Logs(), "\n")).NotTo(ContainSubstring("hunter2"))
	})
})

var _ = Describe("a hostile or broken registry", func() {
	// Each entry pushes its own repository (no cache hit from another
	// entry) and makes the registry misbehave on its manifest reads only.
	const canary = "CANARY-registry-body-5d1e"
	var other *httptest.Server
	var otherRequests atomic.Int64
	BeforeEach(func() {
		otherRequests.Store(0)
		// Another host that the webhook's CA trusts (httptest servers share
		// one certificate): only the port differs, as a second registry on
		// the same node would.
		other = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			otherRequests.Add(1)
			w.WriteHeader(http.StatusNotFound)
		}))
		DeferCleanup(other.Close)
		DeferCleanup(func() { reg.Intercept(nil) })
	})

	DescribeTable("is refused with a classified reason that never quotes the registry",
		func(ctx SpecContext, repo string, misbehave func(http.ResponseWriter, *http.Request), want ...string) {
			image, err := reg.Push(repo, v1.Config{Entrypoint: []string{"/app"}})
			Expect(err).NotTo(HaveOccurred())
			reg.Intercept(func(w http.ResponseWriter, req *http.Request) bool {
				if req.Method != http.MethodGet || !strings.Contains(req.URL.Path, "/"+strings.Split(repo, ":")[0]+"/manifests/") {
					return false
				}
				misbehave(w, req)
				return true
			})
			_, err = create(ctx, team, withPullSecret(optedIn("hostile", corev1.Container{Name: "app", Image: image})))
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(HavePrefix(deniedPrefix))
			for _, w := range want {
				Expect(err.Error()).To(ContainSubstring(w))
			}
			Expect(err.Error()).NotTo(ContainSubstring(canary))
			Expect(strings.Join(hook.Logs(), "\n")).NotTo(ContainSubstring(canary))
			Expect(otherRequests.Load()).To(BeZero(), "nothing may reach the host the registry redirected to")
		},
		Entry("a redirect of the manifest to another host", "hostile/redirect:v1", func(w http.ResponseWriter, req *http.Request) {
			http.Redirect(w, req, other.URL+req.URL.Path, http.StatusTemporaryRedirect)
		}, "redirect refused", "to another host"),
		Entry("an error body with a canary", "hostile/canary:v1", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"errors":[{"code":"DENIED","message":"` + canary + `"}]}`))
		}, "unauthorized: the registry answered 403 Forbidden"),
		Entry("a registry that never answers", "hostile/slow:v1", func(_ http.ResponseWriter, req *http.Request) {
			<-req.Context().Done() // until the webhook gives up
		}, "timeout: the registry did not answer within"),
		// 501: ggcr retries 5xx codes that may pass, not this one.
		Entry("a server error with an HTML body", "hostile/broken:v1", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNotImplemented)
			_, _ = w.Write([]byte("<html>" + canary + "</html>"))
		}, "the registry answered 501 Not Implemented"),
	)
})

var _ = Describe("a pod without the annotation", func() {
	It("is created untouched and never reaches the webhook", func(ctx SpecContext) {
		before := admissions(ctx)
		c := withCommand(appImage, "/app")
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "plain"}, Spec: corev1.PodSpec{ServiceAccountName: sa, Containers: []corev1.Container{c}}}
		pod := mustCreate(ctx, team, p)
		Expect(pod.Spec.InitContainers).To(BeEmpty())
		Expect(pod.Spec.Containers[0].Command).To(Equal([]string{"/app"}))
		Expect(pod.Spec.Containers[0].Env).To(BeEmpty())
		// An opted-in pod after it is counted: the counter works, and the
		// plain pod's create did not move it.
		mustCreate(ctx, team, optedIn("after-plain", withCommand(appImage, "/app")))
		Expect(admissions(ctx)).To(Equal(before + 1))
	})
})
