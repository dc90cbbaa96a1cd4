// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package entrypoint

import (
	"container/list"
	"sync"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/webhook/internal/mutate"
)

// key names one lookup. scope holds whose credentials read it, so a
// namespace never gets an image config read with another's pull secrets.
type key struct {
	ref, platform, scope string
}

// cache keeps image configs, at most size of them, each for ttl; the least
// recently used goes first when full. Own code over golang-lru's
// expirable.LRU: that one reads the wall clock (the tests here move a
// clock instead of sleeping) and starts a cleanup goroutine per cache that
// never stops; this is the same list and map in under 80 lines.
type cache struct {
	size int
	ttl  time.Duration
	now  func() time.Time

	mu    sync.Mutex
	order *list.List // of *entry, most recently used first
	items map[key]*list.Element
}

type entry struct {
	key     key
	image   mutate.Image
	expires time.Time
}

func newCache(size int, ttl time.Duration, now func() time.Time) *cache {
	return &cache{size: size, ttl: ttl, now: now, order: list.New(), items: map[key]*list.Element{}}
}

func (c *cache) get(k key) (mutate.Image, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return mutate.Image{}, false
	}
	e := el.Value.(*entry)
	if !c.now().Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, k)
		return mutate.Image{}, false
	}
	c.order.MoveToFront(el)
	return e.image, true
}

func (c *cache) add(k key, img mutate.Image) {
	if c.size <= 0 || c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.order.Remove(el)
	}
	c.items[k] = c.order.PushFront(&entry{key: k, image: img, expires: c.now().Add(c.ttl)})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*entry).key)
	}
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
