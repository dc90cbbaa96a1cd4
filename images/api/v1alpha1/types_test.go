// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package v1alpha1

import (
	"testing"

	"k8s.io/apimachinery/pkg/api/equality"
)

// Source's DeepCopyInto is written by hand (controller-gen copies no
// map[string]any): a copy of an import shares nothing with the original,
// down to the nested values of args.
func TestDeepCopySharesNothing(t *testing.T) {
	mode := int32(0o440)
	orig := &SecretsStoreImport{Spec: Spec{Files: []File{{
		Name: "tls.crt", Mode: &mode,
		Source: Source{Path: "pki/issue/web", Method: "PUT", Args: map[string]any{
			"common_name": "web", "alt_names": []any{"a", "b"}, "ttl": map[string]any{"hours": int64(1)},
		}},
	}}}}
	cp := orig.DeepCopy()
	if !equality.Semantic.DeepEqual(orig, cp) {
		t.Fatalf("copy differs: %+v", cp)
	}
	args := cp.Spec.Files[0].Source.Args
	args["common_name"] = "other"
	args["alt_names"].([]any)[0] = "z"
	args["ttl"].(map[string]any)["hours"] = int64(2)
	*cp.Spec.Files[0].Mode = 0o400
	got := orig.Spec.Files[0]
	if got.Source.Args["common_name"] != "web" || got.Source.Args["alt_names"].([]any)[0] != "a" ||
		got.Source.Args["ttl"].(map[string]any)["hours"] != int64(1) || *got.Mode != 0o440 {
		t.Errorf("changing the copy changed the original: %+v", got)
	}
	var empty Source
	(&Source{Path: "p"}).DeepCopyInto(&empty)
	if empty.Path != "p" || empty.Args != nil {
		t.Error("a Source without args got some in its copy")
	}
}
