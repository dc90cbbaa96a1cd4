module github.com/deckhouse/secrets-store-integration/test/tools/vault

go 1.26

tool github.com/hashicorp/vault

require github.com/hashicorp/vault v1.19.5

// Vault's in-tree sdk is replaced in its own go.mod, which a dependent module
// ignores; v0.17.0 is the published sdk that v1.19.5 compiles against.
replace github.com/hashicorp/vault/sdk => github.com/hashicorp/vault/sdk v0.17.0
