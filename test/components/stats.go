package components

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The benchmark commands (cmd/bench-*) measure the same way: latencies
// sorted, nearest-rank percentiles, milliseconds with one decimal.

// Percentile returns the nearest-rank percentile p (0..1) of sorted: the
// smallest value with at least p of the samples at or below it.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Ms formats d in milliseconds with one decimal.
func Ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

// Parallel calls f(0..n-1), at most c at a time, and returns the wall time.
// Once ctx ends no new call starts.
func Parallel(ctx context.Context, n, c int, f func(i int)) time.Duration {
	start := time.Now()
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(c, n) {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	return time.Since(start)
}

// ParseCounts reads a flag such as "1,10,100": positive numbers, one run each.
func ParseCounts(s string) ([]int, error) {
	var list []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		list = append(list, n)
	}
	return list, nil
}
