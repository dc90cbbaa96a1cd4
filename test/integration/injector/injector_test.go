// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package injector

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	vaultapi "github.com/hashicorp/vault/api"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// parsePrivateKey reads a PKCS#1, SEC 1 or PKCS#8 key, as the pki engine
// issues them.
func parsePrivateKey(b *pem.Block) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS1PrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	return k.(crypto.Signer), nil
}

// liveTokens counts the store tokens of the role that are still valid: the
// injector must leave none behind.
func liveTokens(ctx context.Context) int {
	GinkgoHelper()
	n, err := env.LiveTokens(ctx, role)
	Expect(err).NotTo(HaveOccurred())
	return n
}

func putKV(ctx context.Context, path string, data map[string]any) {
	_, err := env.Vault.KVv2(testenv.KVMount).Put(ctx, path, data)
	Expect(err).NotTo(HaveOccurred())
}

var _ = Describe("env-injector", Ordered, func() {
	BeforeAll(func(ctx SpecContext) {
		putKV(ctx, "inj/db", map[string]any{"user": "app", "password": "first-pass"})
		putKV(ctx, "inj/db", map[string]any{"user": "app", "password": "s3cr3t-pass", "port": 5432})
		putKV(ctx, "inj/common", map[string]any{"LOG_LEVEL": "debug", "REGION": "eu", "SHARED": "common"})
		putKV(ctx, "inj/team", map[string]any{"REGION": "us"})
		putKV(ctx, "inj/loader", map[string]any{"REGION": "eu", "LD_PRELOAD": "/tmp/evil.so"})
		putKV(ctx, "inj/path", map[string]any{"PATH": "/tmp/evil-bin"})
		Expect(env.Vault.KVv1(testenv.KVv1Mount).Put(ctx, "inj/api", map[string]any{"token": "kv1-token"})).To(Succeed())
	})

	It("copies itself into the volume as a static executable", func() {
		info, err := os.Stat(injector)
		Expect(err).NotTo(HaveOccurred())
		Expect(info.Mode().Perm()).To(Equal(os.FileMode(0o555)))
		entries, err := os.ReadDir(filepath.Dir(injector))
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(HaveLen(1), "no temporary file left")
		elf, err := os.ReadFile(injector)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(elf[:4])).To(Equal("\x7fELF"))
		Expect(string(elf)).NotTo(ContainSubstring("/lib64/ld-linux"), "dynamically linked: it would not start in distroless or alpine images")
	})

	It("gives the application exactly its variables with the secrets resolved, and no VAULT_*", func(ctx SpecContext) {
		got := printenv(ctx, pod{vars: []string{
			"PLAIN=kept as is",
			"DB_PASSWORD=secrets-store:secret/data/inj/db#password",
			"DB_PASSWORD_V1=secrets-store:secret/data/inj/db#password#1",
			"DB_PORT=secrets-store:secret/inj/db#port",
			"DSN=secrets-store:secret/data/inj/db#postgres://${ .user }:${ .password | urlquery }@db:${ .port }/app",
			"API=Bearer ${secrets-store:kv1/inj/api#token}",
			// As it comes from a ConfigMap through envFrom: a reference, not a value.
			"FROM_CONFIGMAP=secrets-store:secret/data/inj/db#user",
		}})
		Expect(got).To(Equal([]string{
			"API=Bearer kv1-token",
			"DB_PASSWORD=s3cr3t-pass",
			"DB_PASSWORD_V1=first-pass",
			"DB_PORT=5432",
			"DSN=postgres://app:s3cr3t-pass@db:5432/app",
			"FROM_CONFIGMAP=app",
			"PATH=/usr/bin:/bin",
			"PLAIN=kept as is",
		}))
	})

	It("takes every key of env-from-path: later paths win, and win over the container's own variables, as in the existing module", func(ctx SpecContext) {
		got := printenv(ctx, pod{
			settings: map[string]string{"VAULT_ENV_FROM_PATH": "secret/data/inj/common,secret/data/inj/team"},
			vars:     []string{"LOG_LEVEL=info", "SHARED=secrets-store:secret/data/inj/db#user", "KEPT=yes"},
		})
		Expect(got).To(Equal([]string{"KEPT=yes", "LOG_LEVEL=debug", "PATH=/usr/bin:/bin", "REGION=us", "SHARED=common"}))
	})

	It("leaves out what is missing with ignore-missing-secrets, and fails without it", func(ctx SpecContext) {
		p := pod{vars: []string{"GONE=secrets-store:secret/data/inj/nothing#x", "NOKEY=secrets-store:secret/data/inj/db#nokey", "USER=secrets-store:secret/data/inj/db#user"}}
		r := start(ctx, pod{vars: p.vars, command: []string{"env"}})
		Expect(r.wait()).To(Equal(1))
		Expect(r.stderr.String()).To(ContainSubstring("variable GONE: read secret/data/inj/nothing: HTTP 404"))
		Expect(r.stdout.String()).To(BeEmpty(), "the application must not start")

		p.settings = map[string]string{"VAULT_IGNORE_MISSING_SECRETS": "true"}
		Expect(printenv(ctx, p)).To(Equal([]string{"PATH=/usr/bin:/bin", "USER=app"}))
	})

	It("execs the application as the same process and revokes its store token", func(ctx SpecContext) {
		r := start(ctx, pod{vars: []string{"X=secrets-store:secret/data/inj/db#user"}, command: []string{"sh", "-c", "echo $$"}})
		Expect(r.wait()).To(Equal(0), r.stderr.String())
		Expect(strings.TrimSpace(r.stdout.String())).To(Equal(strconv.Itoa(r.cmd.Process.Pid)), "the application must be PID 1 of the container, not a child")
		Expect(liveTokens(ctx)).To(BeZero(), "the store token outlived the injector")
	})

	It("hands its store token to the application for secrets-store:login and does not revoke it", func(ctx SpecContext) {
		got := printenv(ctx, pod{vars: []string{
			"VAULT_TOKEN=secrets-store:login",
			"AUTH=Bearer ${secrets-store:login}",
			"USER=secrets-store:secret/data/inj/db#user",
		}})
		var token, auth string
		for _, kv := range got {
			if v, ok := strings.CutPrefix(kv, "VAULT_TOKEN="); ok {
				token = v
			}
			if v, ok := strings.CutPrefix(kv, "AUTH="); ok {
				auth = v
			}
		}
		Expect(token).NotTo(BeEmpty(), "the application got no VAULT_TOKEN: %q", got)
		Expect(token).NotTo(HavePrefix("secrets-store:"))
		Expect(auth).To(Equal("Bearer "+token), "inline ${secrets-store:login} is the same token")
		Expect(got).To(ContainElement("USER=app"))

		app, err := env.Vault.Clone()
		Expect(err).NotTo(HaveOccurred())
		app.SetToken(token)
		DeferCleanup(func(ctx context.Context) { _, _ = app.Logical().WriteWithContext(ctx, "auth/token/revoke-self", nil) })
		sec, err := app.Logical().ReadWithContext(ctx, "secret/data/inj/db")
		Expect(err).NotTo(HaveOccurred(), "the handed token must be live and carry the role's policy")
		Expect(sec.Data["data"]).To(HaveKeyWithValue("password", "s3cr3t-pass"))
		Expect(liveTokens(ctx)).To(Equal(1), "exactly the handed token outlives the injector (documented), no other")

		_, err = app.Logical().WriteWithContext(ctx, "auth/token/revoke-self", nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(liveTokens(ctx)).To(BeZero())
	})

	It("issues a certificate at start for >>secrets-store: (a PUT with the JSON body), whole and inside ${...}", func(ctx SpecContext) {
		Expect(env.Vault.Sys().MountWithContext(ctx, "inj-pki", &vaultapi.MountInput{Type: "pki", Config: vaultapi.MountConfigInput{MaxLeaseTTL: "24h"}})).To(Succeed())
		DeferCleanup(func(ctx context.Context) { _ = env.Vault.Sys().UnmountWithContext(ctx, "inj-pki") })
		_, err := env.Vault.Logical().WriteWithContext(ctx, "inj-pki/root/generate/internal", map[string]any{"common_name": "inj CA", "ttl": "24h"})
		Expect(err).NotTo(HaveOccurred())
		_, err = env.Vault.Logical().WriteWithContext(ctx, "inj-pki/roles/web", map[string]any{"allowed_domains": "example.com", "allow_subdomains": true, "max_ttl": "1h"})
		Expect(err).NotTo(HaveOccurred())

		// PEM spans lines: the application prints the two values NUL-separated.
		r := start(ctx, pod{vars: []string{
			`TLS_CERT=>>secrets-store:inj-pki/issue/web#certificate#{"common_name":"a.example.com","ttl":"10m"}`,
			`TLS_KEY=key:${>>secrets-store:inj-pki/issue/web#private_key#{"ttl":"10m","common_name":"a.example.com"}}`,
		}, command: []string{"sh", "-c", `printf '%s\0%s' "$TLS_CERT" "$TLS_KEY"`}})
		Expect(r.wait()).To(Equal(0), r.stderr.String())
		certText, keyText, _ := strings.Cut(r.stdout.String(), "\x00")
		vals := map[string]string{"TLS_CERT": certText, "TLS_KEY": keyText}
		block, _ := pem.Decode([]byte(vals["TLS_CERT"]))
		Expect(block).NotTo(BeNil(), "TLS_CERT is not a PEM certificate: the write was not made")
		cert, err := x509.ParseCertificate(block.Bytes)
		Expect(err).NotTo(HaveOccurred())
		Expect(cert.Subject.CommonName).To(Equal("a.example.com"), "the JSON body was sent")
		Expect(vals["TLS_KEY"]).To(HavePrefix("key:-----BEGIN"))
		key, _ := pem.Decode([]byte(strings.TrimPrefix(vals["TLS_KEY"], "key:")))
		Expect(key).NotTo(BeNil())
		priv, err := parsePrivateKey(key)
		Expect(err).NotTo(HaveOccurred())
		Expect(priv.Public()).To(Equal(cert.PublicKey), "one write for both variables: the key belongs to the certificate")
		Expect(liveTokens(ctx)).To(BeZero(), "no lease: the token is revoked as after reads")
	})

	DescribeTable("fails with one clear line on stderr and in the termination log, never a value",
		func(ctx SpecContext, p pod, want string) {
			p.command = []string{"env"}
			r := start(ctx, p)
			Expect(r.wait()).To(Equal(1))
			line := strings.TrimSpace(r.stderr.String())
			Expect(strings.Split(line, "\n")).To(HaveLen(1), line)
			Expect(line).To(ContainSubstring(want))
			Expect(strings.TrimSpace(r.termination())).To(Equal(strings.TrimPrefix(line, "env-injector: ")))
			Expect(line).NotTo(ContainSubstring("s3cr3t"))
			Expect(r.stdout.String()).To(BeEmpty())
		},
		Entry("an unknown role", pod{settings: map[string]string{"VAULT_ROLE": "nope"}, vars: []string{"X=secrets-store:secret/data/inj/db#user"}},
			`log in as role "nope": write auth/kubernetes/login: HTTP 400 (invalid role name "nope")`),
		Entry("a path outside the policy", pod{vars: []string{"ADMIN=secrets-store:secret/data/admin#password"}},
			"variable ADMIN: read secret/data/admin: permission denied"),
		Entry("a malformed reference", pod{vars: []string{"BAD=secrets-store:secret/data/inj/db"}},
			`variable BAD: reference "secrets-store:secret/data/inj/db" has no key`),
		Entry("a template that fails", pod{vars: []string{"T=secrets-store:secret/data/inj/db#${ .password | mustFromJson }"}},
			"variable T: template at secret/data/inj/db"),
		Entry("env-from-path with LD_PRELOAD", pod{settings: map[string]string{"VAULT_ENV_FROM_PATH": "secret/data/inj/loader"}},
			`env-from-path secret/data/inj/loader: key "LD_PRELOAD" may not be set from the store: it changes what the dynamic loader loads`),
		Entry("env-from-path with PATH", pod{settings: map[string]string{"VAULT_ENV_FROM_PATH": "secret/data/inj/common,secret/data/inj/path"}},
			`env-from-path secret/data/inj/path: key "PATH" may not be set from the store: it chooses which program runs`),
		Entry("a write whose body is not JSON (the existing module's >>secrets-store:)", pod{vars: []string{`CERT=>>secrets-store:inj-pki/issue/web#certificate#{common_name: a.example.com}`}},
			`variable CERT: reference ">>secrets-store:inj-pki/issue/web#certificate#{common_name: a.example.com}": the body after the last '#' is not a JSON object`),
		Entry("no token file", pod{settings: map[string]string{"VAULT_SA_TOKEN_PATH": "/nonexistent/token"}},
			"read the service-account token: open /nonexistent/token"),
	)

	It("restarts the application when a value changes (watch-for-data)", func(ctx SpecContext) {
		putKV(ctx, "inj/rotating", map[string]any{"password": "before"})
		out := filepath.Join(GinkgoT().TempDir(), "seen")
		r := start(ctx, pod{
			settings: map[string]string{"VAULT_RESTART_ON_SECRET_CHANGE": "watch-for-data", "VAULT_SECRET_POLL_INTERVAL": "1s"},
			vars:     []string{"P=secrets-store:secret/data/inj/rotating#password"},
			command:  []string{"sh", "-c", `echo "$P" > ` + out + `; trap 'echo stopped >> ` + out + `; exit 0' TERM; while :; do sleep 0.05; done`},
		})
		Eventually(func() string { b, _ := os.ReadFile(out); return string(b) }).WithContext(ctx).Should(Equal("before\n"))
		Expect(liveTokens(ctx)).To(Equal(1), "the watching injector holds one store token")
		Consistently(r.cmd.ProcessState).WithTimeout(2500*time.Millisecond).Should(BeNil(), "an unchanged value must not restart it")

		putKV(ctx, "inj/rotating", map[string]any{"password": "after"})
		Expect(r.wait()).To(Equal(75))
		Expect(r.termination()).To(ContainSubstring("secrets changed in the store"))
		Expect(os.ReadFile(out)).To(Equal([]byte("before\nstopped\n")), "the application got SIGTERM")
		Expect(r.termination() + r.stderr.String()).NotTo(ContainSubstring("after"))
		Expect(liveTokens(ctx)).To(BeZero())
	})

	It("ends the application when a lease runs out (watch-for-lease)", func(ctx SpecContext) {
		Expect(env.Vault.KVv1(testenv.KVv1Mount).Put(ctx, "inj/leased", map[string]any{"token": "short-lived", "ttl": "3s"})).To(Succeed())
		began := time.Now()
		r := start(ctx, pod{
			settings: map[string]string{"VAULT_RESTART_ON_SECRET_CHANGE": "watch-for-lease"},
			vars:     []string{"T=secrets-store:kv1/inj/leased#token"},
			command:  []string{"sh", "-c", `trap 'exit 0' TERM; while :; do sleep 0.05; done`},
		})
		Expect(r.wait()).To(Equal(75))
		Expect(time.Since(began)).To(BeNumerically(">=", 3*time.Second), "ended before the lease ran out")
		Expect(r.termination()).To(ContainSubstring("lease of kv1/inj/leased ran out"))
		Expect(liveTokens(ctx)).To(BeZero())
	})

	It("passes signals to the application and exits with its code", func(ctx SpecContext) {
		ready := filepath.Join(GinkgoT().TempDir(), "ready")
		r := start(ctx, pod{
			settings: map[string]string{"VAULT_RESTART_ON_SECRET_CHANGE": "watch-for-data", "VAULT_SECRET_POLL_INTERVAL": "1h"},
			vars:     []string{"X=secrets-store:secret/data/inj/db#user"},
			command:  []string{"sh", "-c", `trap 'exit 42' USR1; touch ` + ready + `; while :; do sleep 0.05; done`},
		})
		Eventually(func() error { _, err := os.Stat(ready); return err }).WithContext(ctx).Should(Succeed())
		Expect(r.cmd.Process.Signal(syscall.SIGUSR1)).To(Succeed())
		Expect(r.wait()).To(Equal(42))
		Expect(liveTokens(ctx)).To(BeZero())
	})

	It("as PID 1 reaps what the application orphans: no zombie stays", func(ctx SpecContext) {
		dir := GinkgoT().TempDir()
		pidFile, exited := filepath.Join(dir, "pid"), filepath.Join(dir, "exited")
		// The middle shell starts the grandchild and exits at once; the
		// grandchild outlives it and exits while the application runs on.
		r := start(ctx, pod{
			settings: map[string]string{"VAULT_RESTART_ON_SECRET_CHANGE": "watch-for-data", "VAULT_SECRET_POLL_INTERVAL": "1h"},
			vars:     []string{"X=secrets-store:secret/data/inj/db#user"},
			command: []string{"sh", "-c", `sh -c '(while [ ! -e ` + pidFile + ` ]; do sleep 0.01; done; touch ` + exited + `) & echo $! > ` + pidFile + `.tmp; mv ` + pidFile + `.tmp ` + pidFile + `'; ` +
				`trap 'exit 0' TERM; while :; do sleep 0.05; done`},
			pid1: true,
		})
		Eventually(func() error { _, err := os.Stat(exited); return err }).WithContext(ctx).Should(Succeed())
		b, err := os.ReadFile(pidFile)
		Expect(err).NotTo(HaveOccurred())
		nsPid := strings.TrimSpace(string(b))
		// The orphan (found by its pid in the injector's namespace, the
		// last NSpid field) ends as the injector's child: gone once reaped.
		ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", r.cmd.Process.Pid))
		Expect(err).NotTo(HaveOccurred())
		orphan := func() string {
			entries, err := os.ReadDir("/proc")
			Expect(err).NotTo(HaveOccurred())
			for _, e := range entries {
				status, err := os.ReadFile("/proc/" + e.Name() + "/status")
				if err != nil {
					continue
				}
				var ppid, state string
				var nspid []string
				for _, line := range strings.Split(string(status), "\n") {
					k, v, _ := strings.Cut(line, ":")
					switch k {
					case "PPid":
						ppid = strings.TrimSpace(v)
					case "State":
						state = strings.TrimSpace(v)
					case "NSpid":
						nspid = strings.Fields(v)
					}
				}
				// A zombie's ns link cannot be read; its parent can.
				link, _ := os.Readlink("/proc/" + e.Name() + "/ns/pid")
				inNS := link == ns || ppid == strconv.Itoa(r.cmd.Process.Pid)
				if inNS && len(nspid) > 1 && nspid[len(nspid)-1] == nsPid {
					return state
				}
			}
			return ""
		}
		Eventually(orphan).WithContext(ctx).WithTimeout(10*time.Second).Should(BeEmpty(), "the orphan stays a zombie of the injector")
		Expect(r.cmd.ProcessState).To(BeNil(), "the application runs on")
		Expect(r.cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
		Expect(r.wait()).To(Equal(0))
	})

	// Vault's built-in engines issue leases on writes only, and the
	// injector reads; this store stands in for a dynamic engine
	// (database/creds) that leases on a read, and counts revocations.
	It("revokes a probe run's token, and with it the leases it read (mutate-probes)", func(ctx SpecContext) {
		var reads, revoked atomic.Int64
		leasing := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			switch {
			case strings.HasSuffix(req.URL.Path, "/login"):
				_, _ = w.Write([]byte(`{"auth":{"client_token":"probe-token","accessor":"a","lease_duration":3600,"renewable":true}}`))
			case req.URL.Path == "/v1/auth/token/revoke-self":
				revoked.Add(1)
				w.WriteHeader(http.StatusNoContent)
			case req.URL.Path == "/v1/database/creds/ro":
				reads.Add(1)
				_, _ = w.Write([]byte(`{"lease_id":"database/creds/ro/1","lease_duration":3600,"renewable":true,"data":{"username":"v-probe"}}`))
			default:
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(`{"errors":[]}`))
			}
		}))
		DeferCleanup(leasing.Close)
		caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leasing.Certificate().Raw})
		p := pod{
			settings: map[string]string{"VAULT_ADDR": leasing.URL, "VAULT_CACERT_PEM": string(caPEM)},
			vars:     []string{"DB_USER=secrets-store:database/creds/ro#username"},
			command:  []string{"sh", "-c", `test "$DB_USER" = v-probe`},
			flags:    []string{"--probe"},
		}
		for range 3 {
			r := start(ctx, p)
			Expect(r.wait()).To(Equal(0), r.stderr.String())
			Expect(r.termination()).To(BeEmpty(), "a probe leaves the container's termination message alone")
		}
		Expect(reads.Load()).To(Equal(int64(3)))
		Expect(revoked.Load()).To(Equal(int64(3)), "every probe run revokes its token and so its leases")

		// The same container command, not a probe, keeps the token for
		// the lease (documented): the difference is the probe flag.
		p.flags = nil
		r := start(ctx, p)
		Expect(r.wait()).To(Equal(0), r.stderr.String())
		Expect(revoked.Load()).To(Equal(int64(3)))
	})
})
