// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package supervisor

import (
	"os"
	"runtime"
	"testing"
	"time"
)

func TestRSSOfThisProcess(t *testing.T) {
	rss, err := RSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 {
		t.Errorf("RSS %d bytes: too small for a Go test binary", rss)
	}
}

func TestPeakRSSSeesMemoryTakenWhileSampling(t *testing.T) {
	before, err := RSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	s := StartPeakRSS(time.Hour, os.Getpid())
	const size = 64 << 20
	buf := make([]byte, size)
	for i := 0; i < len(buf); i += os.Getpagesize() {
		buf[i] = 1 // touch every page, so it is resident
	}
	peaks := s.Stop()
	runtime.KeepAlive(buf)
	if len(peaks) != 1 || peaks[0] < before+size/2 {
		t.Errorf("peaks %v, want one of at least %d bytes (RSS %d before, %d MiB taken)", peaks, before+size/2, before, size>>20)
	}
}

func TestFreePortsDiffer(t *testing.T) {
	ports, err := FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if p <= 0 || seen[p] {
			t.Errorf("FreePorts(5) = %v: port %d zero or repeated", ports, p)
		}
		seen[p] = true
	}
}
