// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Command dashboard-charts draws each Grafana dashboard of
// monitoring/grafana-dashboards as an SVG picture of its panels, laid out as
// the dashboard lays them out, each panel's queries evaluated by a real
// Prometheus over a time range (test/tools/record-metrics.sh records one
// while a bench command runs the module's components).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

func main() {
	if err := run(); err != nil {
		slog.Error("dashboard-charts", "error", err)
		os.Exit(1)
	}
}

type options struct {
	prometheus   string
	start, end   time.Time
	step         time.Duration
	rateInterval string
}

func run() error {
	root, err := testenv.RepoRoot()
	if err != nil {
		return err
	}
	var o options
	dashboards := flag.String("dashboards", filepath.Join(root, "monitoring", "grafana-dashboards", "secrets-store-integration"), "folder of the dashboards' JSON")
	out := flag.String("dir", filepath.Join(root, "docs", "images"), "folder the pictures are written to (dashboard-<name>.svg)")
	flag.StringVar(&o.prometheus, "prometheus", "http://127.0.0.1:9090", "Prometheus that scraped the components")
	start := flag.String("start", "", "start of the time range (RFC 3339); default: -range before -end")
	end := flag.String("end", "", "end of the time range (RFC 3339); default: now")
	span := flag.Duration("range", 10*time.Minute, "length of the time range when -start is not given")
	flag.DurationVar(&o.step, "step", 5*time.Second, "resolution of the range queries")
	flag.StringVar(&o.rateInterval, "rate-interval", "30s", "what Grafana's $__rate_interval stands for")
	only := flag.String("only", "", "comma-separated dashboards to draw (file names without .json); empty: all")
	flag.Parse()

	o.end = time.Now()
	if *end != "" {
		if o.end, err = time.Parse(time.RFC3339, *end); err != nil {
			return fmt.Errorf("-end: %w", err)
		}
	}
	o.start = o.end.Add(-*span)
	if *start != "" {
		if o.start, err = time.Parse(time.RFC3339, *start); err != nil {
			return fmt.Errorf("-start: %w", err)
		}
	}
	files, err := filepath.Glob(filepath.Join(*dashboards, "*.json"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no dashboards in %s", *dashboards)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, f := range files {
		if *only != "" && !slices.Contains(strings.Split(*only, ","), strings.TrimSuffix(filepath.Base(f), ".json")) {
			continue
		}
		d, err := readDashboard(f)
		if err != nil {
			return err
		}
		for i := range d.Panels {
			p := &d.Panels[i]
			for _, t := range p.Targets {
				series, err := o.query(ctx, t.Expr, t.LegendFormat)
				if err != nil {
					return fmt.Errorf("%s, panel %q: %w", filepath.Base(f), p.Title, err)
				}
				p.series = append(p.series, series...)
			}
		}
		name := filepath.Join(*out, "dashboard-"+strings.TrimSuffix(filepath.Base(f), ".json")+".svg")
		if err := d.draw(name, o); err != nil {
			return fmt.Errorf("draw %s: %w", name, err)
		}
		fmt.Println("wrote", name)
	}
	return nil
}

type dashboard struct {
	Title  string  `json:"title"`
	Panels []panel `json:"panels"`
}

type panel struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	GridPos struct {
		H, W, X, Y float64
	} `json:"gridPos"`
	Targets []struct {
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
	} `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	series []series
}

type series struct {
	name   string
	points [][2]float64 // unix seconds, value
}

func readDashboard(file string) (dashboard, error) {
	var d dashboard
	b, err := os.ReadFile(file)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("parse %s: %w", file, err)
	}
	return d, nil
}

// query evaluates a panel's PromQL with Grafana's variables filled in: every
// pod, and the rate interval of the options.
func (o options) query(ctx context.Context, expr, legendFormat string) ([]series, error) {
	expr = strings.NewReplacer("$__rate_interval", o.rateInterval, "$pod", ".*").Replace(expr)
	q := url.Values{
		"query": {expr},
		"start": {strconv.FormatInt(o.start.Unix(), 10)},
		"end":   {strconv.FormatInt(o.end.Unix(), 10)},
		"step":  {strconv.FormatFloat(o.step.Seconds(), 'f', -1, 64)},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.prometheus+"/api/v1/query_range?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query Prometheus: %w", err)
	}
	defer resp.Body.Close()
	var answer struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return nil, fmt.Errorf("read Prometheus' answer: %w", err)
	}
	if answer.Status != "success" {
		return nil, errors.New("Prometheus: " + answer.Error)
	}
	var out []series
	for _, r := range answer.Data.Result {
		s := series{name: legend(legendFormat, r.Metric)}
		for _, v := range r.Values {
			ts, _ := v[0].(float64)
			str, _ := v[1].(string)
			f, err := strconv.ParseFloat(str, 64)
			if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
				continue
			}
			s.points = append(s.points, [2]float64{ts, f})
		}
		if len(s.points) > 0 {
			out = append(out, s)
		}
	}
	return out, nil
}

var placeholder = regexp.MustCompile(`{{\s*(\w+)\s*}}`)

// legend names a series as Grafana would: the target's legend format with
// {{label}} filled in, or the series' label values.
func legend(format string, m map[string]string) string {
	if format != "" {
		return placeholder.ReplaceAllStringFunc(format, func(p string) string {
			return m[placeholder.FindStringSubmatch(p)[1]]
		})
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, m[k])
	}
	if len(parts) == 0 {
		return "value"
	}
	return strings.Join(parts, " ")
}
