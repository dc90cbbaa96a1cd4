// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package provider

import (
	"strings"
	"testing"
	"time"
)

func TestVersionIsKeyedHMAC(t *testing.T) {
	a := versioner{key: []byte("0123456789abcdef0123456789abcdef")}
	b := versioner{key: []byte("fedcba9876543210fedcba9876543210")}
	content := []byte("s3cr3t")
	cases := []struct {
		name      string
		x, y      string
		wantEqual bool
	}{
		{"same key, name and content", a.sum("f", content), a.sum("f", content), true},
		{"other content", a.sum("f", content), a.sum("f", []byte("other")), false},
		{"other file name", a.sum("f", content), a.sum("g", content), false},
		{"other key", a.sum("f", content), b.sum("f", content), false},
		{"name/content boundary", a.sum("ab", []byte("c")), a.sum("a", []byte("bc")), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if (c.x == c.y) != c.wantEqual {
				t.Errorf("%q vs %q: equal=%t, want %t", c.x, c.y, c.x == c.y, c.wantEqual)
			}
		})
	}
	if v := a.sum("f", content); strings.Contains(v, "s3cr3t") || len(v) != 32 {
		t.Errorf("version %q", v)
	}
}

func TestLeaseVersions(t *testing.T) {
	v := versioner{key: []byte("0123456789abcdef")}
	issued := time.Unix(1_000_000, 0)
	expiry := issued.Add(90 * time.Minute)
	leased := v.version("cert", []byte("x"), issued, expiry)
	if !strings.HasPrefix(leased, "lease:1000000:1005400:") {
		t.Fatalf("leased version %q", leased)
	}
	if plain := v.version("cert", []byte("x"), time.Time{}, time.Time{}); strings.HasPrefix(plain, "lease:") {
		t.Fatalf("unleased version %q", plain)
	}
	cases := []struct {
		name    string
		version string
		now     time.Time
		fresh   bool
	}{
		{"just issued", leased, issued, true},
		{"half way", leased, issued.Add(45 * time.Minute), true},
		{"last third", leased, issued.Add(60 * time.Minute), false},
		{"expired", leased, expiry.Add(time.Second), false},
		{"no lease", "0123abcd", issued, false},
		{"garbage", "lease:x:y:z", issued, false},
		{"expiry before issue", "lease:10:5:abc", time.Unix(1, 0), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := leaseFresh(c.version, c.now); got != c.fresh {
				t.Errorf("leaseFresh(%q) = %t, want %t", c.version, got, c.fresh)
			}
		})
	}
}
