#!/usr/bin/env bash
# Generates crds/secrets-store-import.yaml and the deepcopy functions from the
# Go types in images/api/v1alpha1 with the controller-gen pinned in this
# module, which stays out of the product modules (make generate).
#
# Usage: test/tools/controller-gen/generate.sh [out-dir]
# Without out-dir the files are written in place; with it, to
# out-dir/secrets-store-import.yaml and out-dir/zz_generated.deepcopy.go (the
# test that compares them with the committed files uses this).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$here" && GOWORK=off GOFLAGS=-mod=mod go build -o "$tmp/controller-gen" sigs.k8s.io/controller-tools/cmd/controller-gen)
(cd "$root/images" && "$tmp/controller-gen" object crd:crdVersions=v1 paths=./api/... \
	output:crd:dir="$tmp/crd" output:object:dir="$tmp/object")

crd=$root/crds/secrets-store-import.yaml deepcopy=$root/images/api/v1alpha1/zz_generated.deepcopy.go
if [ $# -gt 0 ]; then
	mkdir -p "$1"
	crd=$1/secrets-store-import.yaml deepcopy=$1/zz_generated.deepcopy.go
fi
cp "$tmp/crd/deckhouse.io_secretsstoreimports.yaml" "$crd"
# The licence header every Go file of the module carries, ahead of the build
# constraint controller-gen writes first.
{
	printf '// Copyright 2026 The secrets-store-integration Authors\n// SPDX-License-Identifier: Apache-2.0\n\n'
	cat "$tmp/object/zz_generated.deepcopy.go"
} >"$deepcopy"
