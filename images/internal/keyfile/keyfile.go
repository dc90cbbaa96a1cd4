// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package keyfile reads HMAC keys kept in files as hex, so that what a binary
// derives from them (object versions, data digests) stays the same over a
// restart and between replicas.
package keyfile

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
)

// MinLength is the least key length in bytes accepted.
const MinLength = 16

// Read returns the key in path: hex, surrounding white space ignored, at
// least MinLength bytes.
func Read(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	return Decode(data, path)
}

// Decode decodes a hex key; from names where it came from, for errors, which
// never quote the key.
func Decode(data []byte, from string) ([]byte, error) {
	key, err := hex.DecodeString(string(bytes.TrimSpace(data)))
	if err != nil || len(key) < MinLength {
		return nil, fmt.Errorf("key in %s: want at least %d hex-encoded bytes", from, MinLength)
	}
	return key, nil
}
