// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Percentile returns the nearest-rank percentile p (0..1) of sorted: the
// smallest value with at least p of the samples at or below it.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// Ms formats d in milliseconds with one decimal.
func Ms(d time.Duration) string { return fmt.Sprintf("%.1f", Millis(d)) }

// Millis is d in milliseconds, for results written as JSON.
func Millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

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

// MiB formats a size in bytes in mebibytes with one decimal.
func MiB[T int64 | float64](bytes T) string { return fmt.Sprintf("%.1f", Mebibytes(bytes)) }

// Mebibytes is a size in bytes in mebibytes, for results written as JSON.
func Mebibytes[T int64 | float64](bytes T) float64 { return float64(bytes) / (1 << 20) }
