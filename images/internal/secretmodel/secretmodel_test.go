// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package secretmodel

import "testing"

func TestGroupByReadKeepsPKIIssueTogether(t *testing.T) {
	objects := []Object{
		{ObjectName: "tls.crt", SecretPath: "pki/issue/web", Method: "PUT", SecretArgs: map[string]any{"common_name": "a", "ttl": "1h"}},
		{ObjectName: "user", SecretPath: "secret/data/app", Method: "GET"},
		{ObjectName: "tls.key", SecretPath: "pki/issue/web", Method: "PUT", SecretArgs: map[string]any{"ttl": "1h", "common_name": "a"}},
		{ObjectName: "other.crt", SecretPath: "pki/issue/web", Method: "PUT", SecretArgs: map[string]any{"common_name": "b"}},
		{ObjectName: "pass", SecretPath: "secret/data/app", Method: "GET"},
		{ObjectName: "old", SecretPath: "secret/data/app", Method: "GET", Version: 1},
	}
	groups := GroupByRead(objects)
	var names [][]string
	for _, g := range groups {
		var n []string
		for _, o := range g {
			n = append(n, o.ObjectName)
		}
		names = append(names, n)
	}
	want := [][]string{{"tls.crt", "tls.key"}, {"user", "pass"}, {"other.crt"}, {"old"}}
	if len(names) != len(want) {
		t.Fatalf("groups %v, want %v", names, want)
	}
	for i := range want {
		if len(names[i]) != len(want[i]) || names[i][0] != want[i][0] || names[i][len(names[i])-1] != want[i][len(want[i])-1] {
			t.Errorf("group %d = %v, want %v", i, names[i], want[i])
		}
	}
}
