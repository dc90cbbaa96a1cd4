// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"reflect"
	"strings"
	"testing"
)

func TestScriptCommands(t *testing.T) {
	script := `#!/bin/sh
set -eu
# a comment
vault kv put -mount=secret myapp username=myapp 'password=s3cr3t:p@ss/word'
vault write auth/kubernetes/role/myapp \
  bound_service_account_names=myapp \
  audience=vault
vault policy write myapp - <<'EOF'
path "secret/data/myapp" { capabilities = ["read"] }
EOF
`
	cmds, err := scriptCommands(script)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, c := range cmds {
		got = append(got, c.args)
	}
	want := [][]string{
		{"set", "-eu"},
		{"vault", "kv", "put", "-mount=secret", "myapp", "username=myapp", "password=s3cr3t:p@ss/word"},
		{"vault", "write", "auth/kubernetes/role/myapp", "bound_service_account_names=myapp", "audience=vault"},
		{"vault", "policy", "write", "myapp", "-"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("commands\n got %q\nwant %q", got, want)
	}
	if cmds[3].stdin != "path \"secret/data/myapp\" { capabilities = [\"read\"] }\n" {
		t.Fatalf("here-document %q", cmds[3].stdin)
	}
	for _, bad := range []string{"vault kv put x a=$HOME", "vault write 'open", "echo `id`"} {
		if _, err := scriptCommands(bad); err == nil || !strings.Contains(err.Error(), bad[:5]) {
			t.Errorf("scriptCommands(%q) = %v, want an error quoting the line", bad, err)
		}
	}
}
