module github.com/deckhouse/secrets-store-integration/images

go 1.26
