// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// versioner names a file's content without revealing it: an HMAC-SHA256 with
// a key that never leaves the process, so a version seen in the API or on the
// node cannot be tested against guesses.
type versioner struct{ key []byte }

// NewVersionKey returns a random 32-byte key.
func NewVersionKey() ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate object version key: %w", err)
	}
	return key, nil
}

// sum is the HMAC of a file (its name too, so equal contents of different
// files do not show as equal).
func (v versioner) sum(name string, content []byte) string {
	m := hmac.New(sha256.New, v.key)
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write(content)
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// version is the ObjectVersion of a file: the HMAC, or for a leased secret
// "lease:<issued>:<expiry>:<hmac>" (unix seconds), so a later Mount can tell
// whether the lease is still fresh without the store.
func (v versioner) version(name string, content []byte, issued, expiry time.Time) string {
	h := v.sum(name, content)
	if expiry.IsZero() {
		return h
	}
	return fmt.Sprintf("lease:%d:%d:%s", issued.Unix(), expiry.Unix(), h)
}

// leaseFresh reports whether version carries a lease with more than a third
// of its life left at now.
func leaseFresh(version string, now time.Time) bool {
	parts := strings.Split(version, ":")
	if len(parts) != 4 || parts[0] != "lease" {
		return false
	}
	issued, err1 := strconv.ParseInt(parts[1], 10, 64)
	expiry, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || expiry <= issued {
		return false
	}
	renewAt := expiry - (expiry-issued)/3
	return now.Unix() < renewAt
}
