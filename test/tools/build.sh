#!/usr/bin/env bash
# Builds the real servers the integration tests run (etcd, kube-apiserver,
# Vault) from the Go module proxy. Each binary is cached outside the clone,
# keyed by its tools module (go.mod files and sources) and the Go version, so a
# second run or a fresh clone on the same machine reuses it. The clone gets
# symlinks in .cache/bin, which the test environment reads.
#
# Usage: test/tools/build.sh [etcd|kube-apiserver|vault|secrets-store-csi-driver|addon-operator|containerd|runc]...   (default: all)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${SSI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/secrets-store-integration}
links=$root/.cache/bin
mkdir -p "$cache/bin" "$links"

# The sum database does not answer for some of these modules here; go.sum is
# committed, so the tools modules (and only they) skip it.
export GOWORK=off GOSUMDB=off GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=${CGO_ENABLED:-0}

kube_version=v1.37.2
etcd_version=v3.6.16
vault_version=v1.19.5
secrets_store_csi_driver_version=v1.5.4
addon_operator_version=v1.9.1
containerd_version=v2.4.2
runc_version=v1.3.3

key() { # hash of what decides the binary: the module's go.mod and Go files (nested ones too) and the Go version
	(cd "$here/$1" && find . \( -name go.mod -o -name '*.go' \) | LC_ALL=C sort | xargs cat; go version) | sha256sum | cut -c1-16
}

build() {
	local name=$1 pkg=$2 ldflags=$3 bin=${4:-$1}
	local dir="$cache/bin/$name-$(key "$name")"
	if [ -x "$dir/$bin" ]; then
		echo "build: $bin is cached at $dir"
	else
		echo "build: building $bin into $dir (this takes minutes the first time)"
		local start=$SECONDS tmp
		tmp=$(mktemp -d "$cache/bin/.$name.XXXXXX")
		(cd "$here/$name" && go build -trimpath -ldflags "-s -w $ldflags" -o "$tmp/$bin" "$pkg")
		mkdir -p "$dir" && mv "$tmp/$bin" "$dir/$bin" && rmdir "$tmp"
		echo "build: $bin built in $((SECONDS - start))s"
	fi
	ln -sfn "$dir/$bin" "$links/$bin"
}

build_etcd() { build etcd . ""; }

build_kube_apiserver() {
	local v=k8s.io/component-base/version
	local minor=${kube_version#v1.}; minor=${minor%%.*}
	build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver \
		"-X $v.gitVersion=$kube_version -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
}

build_vault() { build vault github.com/hashicorp/vault ""; }

# The upstream CSI driver, to run our provider under it as the reference
# implementation (test/integration/upstream).
build_secrets_store_csi_driver() {
	build secrets-store-csi-driver sigs.k8s.io/secrets-store-csi-driver/cmd/secrets-store-csi-driver \
		"-X sigs.k8s.io/secrets-store-csi-driver/pkg/version.BuildVersion=$secrets_store_csi_driver_version"
}

# The program that runs Deckhouse modules: it runs the module's hooks binary
# and installs the chart with Helm (test/addonop).
build_addon_operator() {
	build addon-operator github.com/flant/addon-operator/cmd/addon-operator \
		"-X github.com/flant/addon-operator/pkg/app.Version=$addon_operator_version"
}

# The container runtime of test/integration/nri: containerd with its CRI and NRI,
# the runc shim it starts for each pod and ctr, which imports the locally built
# images, in one tools module...
build_containerd() {
	local v=github.com/containerd/containerd/v2/version b
	for b in containerd containerd-shim-runc-v2 ctr; do
		build containerd "github.com/containerd/containerd/v2/cmd/$b" "-X $v.Version=$containerd_version" "$b"
	done
}

# ...and runc in its own: the two need different runtime-spec versions. runc's
# nsenter is C, so cgo is on; without the seccomp build tag it needs no
# libseccomp (the tests ask for no seccomp profile).
build_runc() {
	CGO_ENABLED=1 build runc github.com/opencontainers/runc "-X main.version=${runc_version#v}"
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(etcd kube-apiserver vault secrets-store-csi-driver addon-operator containerd runc)
for t in "${targets[@]}"; do
	case $t in
	etcd) build_etcd ;;
	kube-apiserver) build_kube_apiserver ;;
	vault) build_vault ;;
	secrets-store-csi-driver) build_secrets_store_csi_driver ;;
	addon-operator) build_addon_operator ;;
	containerd) build_containerd ;;
	runc) build_runc ;;
	*) echo "build: unknown server $t (want etcd, kube-apiserver, vault, secrets-store-csi-driver, addon-operator, containerd or runc)" >&2; exit 2 ;;
	esac
done
echo "build: etcd $etcd_version, kube-apiserver $kube_version, vault $vault_version, secrets-store-csi-driver $secrets_store_csi_driver_version, addon-operator $addon_operator_version, containerd $containerd_version, runc $runc_version ready in $links"
