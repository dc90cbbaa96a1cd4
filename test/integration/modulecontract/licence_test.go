// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package modulecontract

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// licenceLine is the SPDX line every Go file of the module carries in its
// first lines, as Deckhouse modules do; LICENSE holds the text it names.
const licenceLine = "// SPDX-License-Identifier: Apache-2.0"

func TestEveryGoFileCarriesTheLicenceHeader(t *testing.T) {
	r := root(t)
	if _, err := os.Stat(filepath.Join(r, "LICENSE")); err != nil {
		t.Fatalf("the licence text: %v", err)
	}
	var files, missing []string
	err := filepath.WalkDir(r, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == ".cache" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		files = append(files, path)
		ok, err := hasHeader(path)
		if err != nil {
			return err
		}
		if !ok {
			rel, _ := filepath.Rel(r, path)
			missing = append(missing, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 100 {
		t.Fatalf("only %d Go files found under %s", len(files), r)
	}
	for _, f := range missing {
		t.Errorf("%s: no %q in its first three lines", f, licenceLine)
	}
}

func hasHeader(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for i := 0; i < 3 && s.Scan(); i++ {
		if s.Text() == licenceLine {
			return true, nil
		}
	}
	return false, s.Err()
}
