// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package validationtable is test support, imported by tests only: it reads
// the one table of values the module's validators accept or refuse
// (images/internal/params/testdata/validation.tsv), which the code's unit
// test and the CRD's test on the real API server both walk, so that both
// reach the same verdict on every line. It is not internal because the
// second test lives in the test module.
package validationtable

import (
	"fmt"
	"os"
	"strings"
)

// Path is the table, relative to the repository root.
const Path = "images/internal/params/testdata/validation.tsv"

// Case is one line of the table.
type Case struct {
	// Field is "file" (a file name), "authPath" or "audience".
	Field string
	// OK says the value is accepted; false: refused.
	OK bool
	// Value is the rest of the line, tabs excluded.
	Value string
}

// minCases guards against a table that was cut short or emptied: a loop over
// few lines would prove little.
const minCases = 30

// Read returns the cases of the table at path, in order. A line with another
// verdict than ok or refuse, or a table of fewer than 30 cases, is an error.
func Read(path string) ([]Case, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the validation table: %w", err)
	}
	var cases []Case
	for n, line := range strings.Split(string(raw), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		field, rest, _ := strings.Cut(line, "\t")
		verdict, value, _ := strings.Cut(rest, "\t")
		if verdict != "ok" && verdict != "refuse" {
			return nil, fmt.Errorf("%s line %d: verdict %q, want ok or refuse", path, n+1, verdict)
		}
		cases = append(cases, Case{Field: field, OK: verdict == "ok", Value: value})
	}
	if len(cases) < minCases {
		return nil, fmt.Errorf("%s: only %d cases", path, len(cases))
	}
	return cases, nil
}
