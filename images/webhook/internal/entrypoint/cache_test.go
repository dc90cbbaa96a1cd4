// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package entrypoint

import (
	"testing"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/webhook/internal/mutate"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestCacheBoundsAndExpires(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := newCache(2, time.Minute, clk.now)
	k := func(ref string) key { return key{ref: ref, platform: "linux/amd64", scope: "ns/sa/"} }
	img := func(ep string) mutate.Image { return mutate.Image{Entrypoint: []string{ep}} }
	has := func(ref string) bool { _, ok := c.get(k(ref)); return ok }

	c.add(k("a"), img("/a"))
	c.add(k("b"), img("/b"))
	if got, ok := c.get(k("a")); !ok || got.Entrypoint[0] != "/a" {
		t.Fatalf("get a = %+v, %v", got, ok)
	}
	// a was used last: adding c evicts b, the least recently used.
	c.add(k("c"), img("/c"))
	if c.len() != 2 || has("b") || !has("a") || !has("c") {
		t.Fatalf("after a third entry: len %d, b %v, a %v, c %v; want b evicted", c.len(), has("b"), has("a"), has("c"))
	}

	clk.t = clk.t.Add(59 * time.Second)
	if !has("a") {
		t.Fatal("a expired before its TTL")
	}
	clk.t = clk.t.Add(time.Second)
	if has("a") || has("c") {
		t.Fatal("entries outlived their TTL")
	}
	if c.len() != 0 {
		t.Fatalf("expired entries stay: len %d", c.len())
	}

	// The scope is part of the key.
	c.add(key{ref: "a", platform: "linux/amd64", scope: "ns1/sa/"}, img("/a"))
	if _, ok := c.get(key{ref: "a", platform: "linux/amd64", scope: "ns2/sa/"}); ok {
		t.Fatal("an entry of one scope served another")
	}
	if _, ok := c.get(key{ref: "a", platform: "linux/arm64", scope: "ns1/sa/"}); ok {
		t.Fatal("an entry of one platform served another")
	}
}

func TestCacheOff(t *testing.T) {
	for _, c := range []*cache{newCache(0, time.Minute, time.Now), newCache(10, 0, time.Now)} {
		c.add(key{ref: "a"}, mutate.Image{})
		if c.len() != 0 {
			t.Fatalf("cache of size %d, ttl %s keeps entries", c.size, c.ttl)
		}
	}
}
