// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package supervisor

import (
	"sync"
	"time"
)

// PeakRSS records the highest resident set size of processes while a
// benchmark phase runs: RSS read now and then misses the spikes.
type PeakRSS struct {
	pids  []int
	done  chan struct{}
	wg    sync.WaitGroup
	peaks []int64
}

// StartPeakRSS samples the RSS of pids every period until Stop.
func StartPeakRSS(period time.Duration, pids ...int) *PeakRSS {
	s := &PeakRSS{pids: pids, done: make(chan struct{}), peaks: make([]int64, len(pids))}
	s.wg.Go(func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			s.sample()
			select {
			case <-tick.C:
			case <-s.done:
				return
			}
		}
	})
	return s
}

// sample raises each peak to the process's RSS now; a process that has
// exited keeps its peak.
func (s *PeakRSS) sample() {
	for i, pid := range s.pids {
		if rss, err := RSS(pid); err == nil {
			s.peaks[i] = max(s.peaks[i], rss)
		}
	}
}

// Stop ends the sampling, with one last sample, and returns the peaks in
// bytes, in the order of the pids.
func (s *PeakRSS) Stop() []int64 {
	close(s.done)
	s.wg.Wait()
	s.sample()
	return s.peaks
}
