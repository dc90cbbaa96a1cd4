module github.com/deckhouse/secrets-store-integration/hooks

go 1.26
