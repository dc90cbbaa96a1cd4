// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package docs

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("way 1 example program (docs/examples/app/main.go)", Ordered, func() {
	var program, tokenFile string

	BeforeAll(func(ctx SpecContext) {
		program = filepath.Join(root, "docs", "examples", "app", "main.go")
		// The store side the docs give: secret/data/myapp, policy and role
		// myapp bound to ServiceAccount myapp/myapp, audience vault.
		Expect(env.RunVaultScript(ctx, filepath.Join(root, "docs", "examples", "csi", "vault-setup.sh"))).To(Succeed())
		// What kubelet projects into the pod at /var/run/secrets/vault/token.
		token, err := env.ServiceAccountToken(ctx, "myapp", "myapp", "vault", 10*time.Minute)
		Expect(err).NotTo(HaveOccurred())
		tokenFile = filepath.Join(GinkgoT().TempDir(), "token")
		Expect(os.WriteFile(tokenFile, []byte(token), 0o600)).To(Succeed())
	})

	// run starts the program with go run, as the docs say, in its folder.
	run := func(ctx SpecContext, args ...string) (stdout, stderr string, err error) {
		cmd := exec.CommandContext(ctx, "go", append([]string{"run", program}, args...)...)
		cmd.Dir = filepath.Dir(program)
		cmd.Env = append(os.Environ(),
			"VAULT_ADDR="+env.VaultAddr,
			"VAULT_CACERT="+env.VaultCAPath,
			"VAULT_TOKEN_FILE="+tokenFile,
		)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err = cmd.Run()
		GinkgoWriter.Printf("go run %s %s\nstdout:\n%s\nstderr:\n%s\n", program, strings.Join(args, " "), out.String(), errOut.String())
		return out.String(), errOut.String(), err
	}

	It("logs in with its ServiceAccount token and reads the secret, printing no password", func(ctx SpecContext) {
		stdout, _, err := run(ctx, "-role", "myapp")
		Expect(err).NotTo(HaveOccurred())
		Expect(stdout).To(ContainSubstring("read secret/data/myapp version 1, keys: password,username"))
		Expect(stdout).To(ContainSubstring("username=myapp\n"))
		Expect(stdout).To(ContainSubstring("password length=" + strconv.Itoa(len("s3cr3t:p@ss/word")) + "\n"))
		Expect(stdout).NotTo(ContainSubstring("s3cr3t"))
	}, SpecTimeout(3*time.Minute))

	It("prints the values only when asked", func(ctx SpecContext) {
		stdout, _, err := run(ctx, "-show-values")
		Expect(err).NotTo(HaveOccurred())
		Expect(stdout).To(ContainSubstring("password=s3cr3t:p@ss/word\n"))
	}, SpecTimeout(3*time.Minute))

	It("fails clearly with a role the token is not bound to", func(ctx SpecContext) {
		_, stderr, err := run(ctx, "-role", "no-such-role")
		Expect(err).To(HaveOccurred())
		Expect(stderr).To(ContainSubstring(`error: log in with role "no-such-role": 400 Bad Request`))
	}, SpecTimeout(3*time.Minute))

	It("fails clearly without the store's CA", func(ctx SpecContext) {
		_, stderr, err := run(ctx, "-ca-cert", filepath.Join(GinkgoT().TempDir(), "missing.pem"))
		Expect(err).To(HaveOccurred())
		Expect(stderr).To(ContainSubstring("error: read store CA:"))
	}, SpecTimeout(3*time.Minute))
})
