package components

import (
	"sync"
	"time"
)

// PeakRSS records the highest VmRSS of processes while a benchmark phase
// runs, sampled at a fixed period.
type PeakRSS struct {
	done  chan struct{}
	wg    sync.WaitGroup
	peaks []int64
}

// StartPeakRSS samples the processes every period until Stop.
func StartPeakRSS(period time.Duration, pids ...int) *PeakRSS {
	s := &PeakRSS{done: make(chan struct{}), peaks: make([]int64, len(pids))}
	s.wg.Go(func() {
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			for i, pid := range pids {
				if rss, err := RSS(pid); err == nil {
					s.peaks[i] = max(s.peaks[i], rss)
				}
			}
			select {
			case <-tick.C:
			case <-s.done:
				return
			}
		}
	})
	return s
}

// Stop ends the sampling and returns the peaks in bytes, in the order of
// the pids.
func (s *PeakRSS) Stop() []int64 {
	close(s.done)
	s.wg.Wait()
	return s.peaks
}
