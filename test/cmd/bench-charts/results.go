// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// resultCharts are drawn from the -json results of the bench commands in
// docs/benchmarks (make bench-node, bench-cluster, bench-startup), which
// hold more than the Markdown tables.
var resultCharts = []struct {
	file    string   // the SVG
	results []string // the JSON files in the results folder
	build   func(...[]byte) ([]chart, error)
}{
	{"bench-node.svg", []string{"node.json"}, one(nodeCharts)},
	{"bench-cluster.svg", []string{"cluster.json"}, one(clusterCharts)},
	{"bench-startup.svg", []string{"startup.json"}, one(startupCharts)},
	{"bench-cluster-slow-tenant.svg", []string{"cluster-without-slow-tenant.json", "cluster-with-slow-tenant.json"}, slowTenantCharts},
}

func one(build func([]byte) ([]chart, error)) func(...[]byte) ([]chart, error) {
	return func(b ...[]byte) ([]chart, error) { return build(b[0]) }
}

// drawResults draws the charts of the JSON results found in dir into out;
// a result that is missing is skipped. It returns the files written.
func drawResults(dir, out string) ([]string, error) {
	var wrote []string
	for _, c := range resultCharts {
		var in [][]byte
		for _, name := range c.results {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if errors.Is(err, fs.ErrNotExist) {
				break
			}
			if err != nil {
				return wrote, fmt.Errorf("read results: %w", err)
			}
			in = append(in, b)
		}
		if len(in) < len(c.results) {
			continue
		}
		charts, err := c.build(in...)
		if err != nil {
			return wrote, fmt.Errorf("%s: %w", strings.Join(c.results, ", "), err)
		}
		files := make([]string, len(charts))
		for i, ch := range charts {
			files[i] = c.file
			if i > 0 {
				files[i] = c.file[:len(c.file)-len(".svg")] + "-" + strconv.Itoa(i+1) + ".svg"
			}
			if err := ch.save(filepath.Join(out, files[i])); err != nil {
				return wrote, fmt.Errorf("draw %s: %w", files[i], err)
			}
			wrote = append(wrote, filepath.Join(out, files[i]))
		}
	}
	return wrote, nil
}

// nodeCharts: the RSS of the driver and the provider, and the CPU and
// wall seconds, of each rotation sweep.
func nodeCharts(b []byte) ([]chart, error) {
	var r struct {
		Volumes int `json:"volumes"`
		Sweeps  []struct {
			Sweep       int     `json:"sweep"`
			Seconds     float64 `json:"sweep_seconds"`
			DriverCPU   float64 `json:"driver_cpu_seconds"`
			ProviderCPU float64 `json:"provider_cpu_seconds"`
			DriverPeak  float64 `json:"driver_rss_mib_peak"`
			ProvPeak    float64 `json:"provider_rss_mib_peak"`
		} `json:"sweeps"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	if len(r.Sweeps) == 0 {
		return nil, errors.New("no sweeps")
	}
	mem := chart{title: fmt.Sprintf("A full node: %d volumes, peak RSS per rotation sweep (bench-node)", r.Volumes), ylabel: "MiB",
		series: []series{{name: "csi-driver"}, {name: "vault-provider"}}}
	cpu := chart{title: fmt.Sprintf("A full node: %d volumes, seconds per rotation sweep (bench-node)", r.Volumes), ylabel: "seconds",
		series: []series{{name: "sweep wall time"}, {name: "driver CPU"}, {name: "provider CPU"}}}
	for _, s := range r.Sweeps {
		run := fmt.Sprintf("sweep %d", s.Sweep)
		mem.runs, cpu.runs = append(mem.runs, run), append(cpu.runs, run)
		mem.series[0].values = append(mem.series[0].values, s.DriverPeak)
		mem.series[1].values = append(mem.series[1].values, s.ProvPeak)
		cpu.series[0].values = append(cpu.series[0].values, s.Seconds)
		cpu.series[1].values = append(cpu.series[1].values, s.DriverCPU)
		cpu.series[2].values = append(cpu.series[2].values, s.ProviderCPU)
	}
	return []chart{mem, cpu}, nil
}

// clusterPhases is the part of bench-controller's -json the charts read.
type clusterPhases struct {
	Imports    int `json:"imports"`
	Namespaces int `json:"namespaces"`
	Phases     []struct {
		Phase        string  `json:"phase"`
		StoreReads   float64 `json:"store_reads"`
		SecretWrites float64 `json:"secret_writes"`
		ImportWrites float64 `json:"import_writes"`
		RSS          float64 `json:"rss_mib"`
		PeakRSS      float64 `json:"peak_rss_mib"`
		Heap         float64 `json:"heap_in_use_mib"`
		P50          float64 `json:"until_secret_p50_ms"`
		P99          float64 `json:"until_secret_p99_ms"`
		SyncP99      float64 `json:"sync_p99_ms_bucket_bound"`
	} `json:"phases"`
}

// clusterCharts: store reads and API writes per phase, and the memory.
func clusterCharts(b []byte) ([]chart, error) {
	var r clusterPhases
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	if len(r.Phases) == 0 {
		return nil, errors.New("no phases")
	}
	size := fmt.Sprintf("%d imports in %d namespaces", r.Imports, r.Namespaces)
	reqs := chart{title: "Large cluster, " + size + ": requests per phase (bench-controller)", ylabel: "requests",
		series: []series{{name: "store reads"}, {name: "Secret writes"}, {name: "import writes (finalizer, status)"}}}
	mem := chart{title: "Large cluster, " + size + ": controller memory after each phase", ylabel: "MiB",
		series: []series{{name: "RSS"}, {name: "peak RSS"}, {name: "Go heap in use"}}}
	for _, p := range r.Phases {
		reqs.runs, mem.runs = append(reqs.runs, wrap(p.Phase)), append(mem.runs, wrap(p.Phase))
		reqs.series[0].values = append(reqs.series[0].values, p.StoreReads)
		reqs.series[1].values = append(reqs.series[1].values, p.SecretWrites)
		reqs.series[2].values = append(reqs.series[2].values, p.ImportWrites)
		mem.series[0].values = append(mem.series[0].values, p.RSS)
		mem.series[1].values = append(mem.series[1].values, p.PeakRSS)
		mem.series[2].values = append(mem.series[2].values, p.Heap)
	}
	return []chart{reqs, mem}, nil
}

// startupCharts: the start-up p50 and p99 of each injector and reference
// count.
func startupCharts(b []byte) ([]chart, error) {
	var r struct {
		Rows []struct {
			Injector   string  `json:"injector"`
			References int     `json:"references"`
			P50        float64 `json:"p50_ms"`
			P99        float64 `json:"p99_ms"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	if len(r.Rows) == 0 {
		return nil, errors.New("no rows")
	}
	c := chart{title: "Entrypoint injection start-up, ours and the existing module's (bench-startup)", ylabel: "ms (log scale)", log: true,
		series: []series{{name: "p50"}, {name: "p99"}}}
	for _, row := range r.Rows {
		c.runs = append(c.runs, fmt.Sprintf("%s\n%d refs", row.Injector, row.References))
		c.series[0].values = append(c.series[0].values, row.P50)
		c.series[1].values = append(c.series[1].values, row.P99)
	}
	return []chart{c}, nil
}

// slowTenantCharts: the other imports' time until their Secret, without
// and with a slow tenant (two runs of bench-controller, the second with
// -slow-imports).
func slowTenantCharts(b ...[]byte) ([]chart, error) {
	var r struct{ Without, With clusterPhases }
	if err := json.Unmarshal(b[0], &r.Without); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b[1], &r.With); err != nil {
		return nil, err
	}
	c := chart{title: "The other imports' time until their Secret, without and with a slow tenant (bench-controller)", ylabel: "seconds",
		series: []series{{name: "p50"}, {name: "p99"}}}
	for _, run := range []struct {
		name string
		r    clusterPhases
	}{{"without", r.Without}, {"with", r.With}} {
		for _, p := range run.r.Phases {
			if p.P99 == 0 {
				continue // a phase without per-import latencies
			}
			c.runs = append(c.runs, wrap(p.Phase)+"\n"+run.name+" slow tenant")
			c.series[0].values = append(c.series[0].values, p.P50/1000)
			c.series[1].values = append(c.series[1].values, p.P99/1000)
		}
	}
	if len(c.runs) == 0 {
		return nil, errors.New("no phase with latencies")
	}
	return []chart{c}, nil
}
