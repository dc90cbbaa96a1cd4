// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package driver

import "sync"

// busyTargets lets one operation at a time work on a target path; a
// concurrent call gets Aborted and kubelet retries it.
type busyTargets struct {
	mu   sync.Mutex
	busy map[string]bool
}

// acquire returns false if target is busy.
func (b *busyTargets) acquire(target string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.busy == nil {
		b.busy = make(map[string]bool)
	}
	if b.busy[target] {
		return false
	}
	b.busy[target] = true
	return true
}

func (b *busyTargets) release(target string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.busy, target)
}
