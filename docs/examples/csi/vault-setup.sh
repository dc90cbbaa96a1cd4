#!/bin/sh
# Store side of docs/examples/csi: a secret, a PKI role, a policy and a
# Kubernetes auth role for ServiceAccount myapp in namespace myapp.
#
# Run as a store administrator (VAULT_ADDR and VAULT_TOKEN set; VAULT_CACERT
# if the store's CA is not in the system trust). test/integration/csidriver/
# examples_test.go runs the commands of this file against a real Vault.
set -eu

# Once per cluster (skip what is already done). The store checks pod tokens
# through the Kubernetes TokenReview API; kubernetes_host must be reachable
# from the store.
vault auth enable kubernetes
vault write auth/kubernetes/config kubernetes_host=https://kubernetes.default.svc

# A KV version 2 engine at secret/ (skip if it exists).
vault secrets enable -path=secret -version=2 kv

# The application's secret: secret/data/myapp in API paths.
vault kv put -mount=secret myapp username=myapp 'password=s3cr3t:p@ss/word'

# A PKI engine with a role that issues certificates for *.myapp.svc.
vault secrets enable pki
vault secrets tune -max-lease-ttl=87600h pki
vault write pki/root/generate/internal common_name='myapp example CA' ttl=87600h
vault write pki/roles/myapp allowed_domains=myapp.svc allow_subdomains=true max_ttl=72h

# What the pod may do: read the secret, issue certificates of the role.
vault policy write myapp - <<'EOF'
path "secret/data/myapp" { capabilities = ["read"] }
path "pki/issue/myapp"   { capabilities = ["create", "update"] }
EOF

# Who the pod is: ServiceAccount myapp in namespace myapp, with a token for
# audience "vault" (the module's CSIDriver asks kubelet for that audience).
vault write auth/kubernetes/role/myapp \
  bound_service_account_names=myapp \
  bound_service_account_namespaces=myapp \
  audience=vault \
  token_policies=myapp \
  token_ttl=10m
