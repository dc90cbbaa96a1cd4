// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package injector tests the env-injector binary as a mutated container
// runs it: copied by the init container, then started in place of the
// application with the VAULT_* settings the webhook derives from the pod's
// annotations, against a real Vault whose Kubernetes auth reviews real
// service-account tokens.
package injector

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/deckhouse/secrets-store-integration/test/suite"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

var (
	env *testenv.Env
	// injector is the copy the init container made, as containers see it.
	injector string
	// tokenFile is the projected service-account token of the pod.
	tokenFile string
)

const (
	ns   = "inj"
	sa   = "app"
	role = "inj-app"
)

func TestEnvInjector(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "env-injector against a real kube-apiserver and Vault")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	s := suite.Start(ctx, suite.Options{Name: "injector"})
	env = s.Env
	dir, bins := s.Work, s.Bins

	// The init container: copy the injector into the shared volume.
	volume := filepath.Join(dir, "volume")
	Expect(os.Mkdir(volume, 0o777)).To(Succeed())
	out, err := exec.CommandContext(ctx, bins.Injector, "--self-copy", volume).CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
	injector = filepath.Join(volume, "env-injector")

	_, err = env.CreateServiceAccount(ctx, ns, sa)
	Expect(err).NotTo(HaveOccurred())
	_, err = env.CreateServiceAccount(ctx, ns, "other")
	Expect(err).NotTo(HaveOccurred())
	Expect(env.WritePolicy(ctx, role, `
path "secret/data/inj/*" { capabilities = ["read"] }
path "kv1/inj/*"         { capabilities = ["read"] }
path "inj-pki/issue/web" { capabilities = ["update"] }
`)).To(Succeed())
	Expect(env.WriteKubernetesRole(ctx, role, testenv.KubernetesRole{
		ServiceAccounts: []string{sa}, Namespaces: []string{ns}, Policies: []string{role},
		Audience: "vault", TTL: time.Hour,
	})).To(Succeed())

	jwt, err := env.ServiceAccountToken(ctx, ns, sa, "vault", 10*time.Minute)
	Expect(err).NotTo(HaveOccurred())
	tokenFile = filepath.Join(dir, "token")
	Expect(os.WriteFile(tokenFile, []byte(jwt), 0o600)).To(Succeed())
}, NodeTimeout(6*time.Minute))

// pod describes a mutated container: the injector's settings the webhook
// puts into VAULT_* variables (the documented contract, spelled out here so
// that a renamed variable fails this suite), the container's own variables
// and its command.
type pod struct {
	settings map[string]string
	vars     []string
	command  []string
	// pid1 starts the injector as PID 1 of a new PID namespace, as in a
	// container.
	pid1 bool
	// flags go before "--", as the webhook writes them (--probe).
	flags []string
}

// environment is the container's environment as the kubelet sets it: the
// image's PATH, the container's variables and the webhook's settings.
func (p pod) environment(terminationLog string) []string {
	settings := map[string]string{
		"VAULT_ADDR":            env.VaultAddr,
		"VAULT_ROLE":            role,
		"VAULT_AUTH_PATH":       "kubernetes",
		"VAULT_CACERT_PEM":      string(env.VaultCAPEM),
		"VAULT_SA_TOKEN_PATH":   tokenFile,
		"VAULT_TERMINATION_LOG": terminationLog,
	}
	for k, v := range p.settings {
		settings[k] = v
	}
	out := []string{"PATH=/usr/bin:/bin"}
	out = append(out, p.vars...)
	for k, v := range settings {
		out = append(out, k+"="+v)
	}
	return out
}

// run is one container start.
type run struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	terminationLog string
}

func start(ctx context.Context, p pod) *run {
	r := &run{terminationLog: filepath.Join(GinkgoT().TempDir(), "termination-log")}
	args := append(append(p.flags, "--"), p.command...)
	r.cmd = exec.CommandContext(ctx, injector, args...)
	r.cmd.Env = p.environment(r.terminationLog)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if p.pid1 {
		r.cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWPID
	}
	Expect(r.cmd.Start()).To(Succeed())
	DeferCleanup(func() { _ = r.cmd.Process.Kill() })
	return r
}

// wait returns the exit code.
func (r *run) wait() int {
	err := r.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	Expect(err).NotTo(HaveOccurred())
	return 0
}

func (r *run) termination() string {
	b, err := os.ReadFile(r.terminationLog)
	if os.IsNotExist(err) {
		return ""
	}
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}

// printenv runs the container with `env` as the application and returns
// what it printed, sorted; it fails the spec if the injector failed.
func printenv(ctx context.Context, p pod) []string {
	p.command = []string{"env"}
	r := start(ctx, p)
	code := r.wait()
	Expect(code).To(Equal(0), "stderr: %s", r.stderr.String())
	lines := strings.Split(strings.TrimSpace(r.stdout.String()), "\n")
	sort.Strings(lines)
	return lines
}
