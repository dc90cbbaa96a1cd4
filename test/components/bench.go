package components

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// Bench is what a benchmark command starts with: a work folder, the product
// binaries built into it, and the test environment with the
// SecretsStoreImport CRD installed.
type Bench struct {
	Work string
	Bins Binaries
	Env  *testenv.Env
}

// StartBench builds the binaries into a new work folder named after name,
// starts the environment and installs the CRD, telling progress with step.
// Close undoes it, also after an error.
func StartBench(ctx context.Context, name string, step func(string)) (_ *Bench, err error) {
	work, err := os.MkdirTemp("", "ssi-bench-"+name+"-*")
	if err != nil {
		return nil, fmt.Errorf("make work folder: %w", err)
	}
	b := &Bench{Work: work}
	defer func() {
		if err != nil {
			err = errors.Join(err, b.Close())
		}
	}()
	step("building the product binaries")
	if b.Bins, err = Build(ctx, filepath.Join(work, "bin")); err != nil {
		return nil, err
	}
	step("starting etcd, kube-apiserver and Vault")
	if b.Env, err = testenv.Start(ctx, testenv.Options{Log: os.Stderr}); err != nil {
		return nil, err
	}
	root, err := testenv.RepoRoot()
	if err != nil {
		return nil, err
	}
	if _, err := b.Env.ApplyFile(ctx, filepath.Join(root, "crds", "secrets-store-import.yaml")); err != nil {
		return nil, err
	}
	return b, nil
}

// Close stops the environment and removes the work folder.
func (b *Bench) Close() error {
	if b.Env != nil {
		b.Env.Stop()
	}
	return os.RemoveAll(b.Work)
}
