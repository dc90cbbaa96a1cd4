// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// series is one measured figure across the runs of a table.
type series struct {
	name   string
	values []float64
}

// chart is one picture: the runs along x, one mark per series and run.
type chart struct {
	title, ylabel string
	runs          []string
	series        []series
	// log draws latencies that span three orders of magnitude as points on
	// a log scale; counts are bars on a linear one.
	log bool
}

var charts = []struct {
	file  string
	needs []string
	build func(table) (chart, error)
}{
	{"bench-csi.svg", []string{"files/volume", "concurrent", "service accounts", "publish p50 ms", "p99 ms"}, csiChart},
	{"bench-injector.svg", []string{"references", "concurrent starts", "p50 ms", "p99 ms"}, injectorChart},
	{"bench-webhook.svg", []string{"pods", "concurrent", "create p50 / p99 ms|create p50 ms"}, webhookChart},
	{"bench-controller.svg", []string{"phase", "store reads", "store logins", "TokenRequests", "Secret writes"}, controllerChart},
}

// columns reads the named columns of every row ("name#1": the second
// side of an "a / b" cell).
func columns(t table, names ...string) ([]series, error) {
	out := make([]series, len(names))
	for i, n := range names {
		name, part := n, 0
		if k := strings.Index(n, "#"); k >= 0 {
			name, part = n[:k], int(n[k+1]-'0')
		}
		c := t.col(name)
		if c < 0 {
			return nil, fmt.Errorf("no column %q", name)
		}
		out[i].name = name
		for _, r := range t.rows {
			if c >= len(r) {
				return nil, fmt.Errorf("row %v has no column %q", r, name)
			}
			v, err := number(r[c], part)
			if err != nil {
				return nil, fmt.Errorf("column %q, row %v: %w", name, r, err)
			}
			out[i].values = append(out[i].values, v)
		}
	}
	return out, nil
}

func labels(t table, format func(r []string) string) []string {
	var out []string
	for _, r := range t.rows {
		out = append(out, format(r))
	}
	return out
}

func csiChart(t table) (chart, error) {
	s, err := columns(t, "publish p50 ms", "p99 ms")
	if err != nil {
		return chart{}, err
	}
	s[0].name, s[1].name = "p50", "p99"
	f, c, sa := t.col("files/volume"), t.col("concurrent"), t.col("service accounts")
	return chart{
		title: "CSI volume publish latency (bench-csi)", ylabel: "ms (log scale)", log: true, series: s,
		runs: labels(t, func(r []string) string {
			l := fmt.Sprintf("%s files\n%s concurrent", r[f], r[c])
			if strings.Contains(r[sa], "per pod") {
				l += "\nSA per pod"
			}
			return l
		}),
	}, nil
}

func injectorChart(t table) (chart, error) {
	s, err := columns(t, "p50 ms", "p99 ms")
	if err != nil {
		return chart{}, err
	}
	s[0].name, s[1].name = "p50", "p99"
	refs, c := t.col("references"), t.col("concurrent starts")
	return chart{
		title: "env injector start-up (bench-injector)", ylabel: "ms (log scale)", log: true, series: s,
		runs: labels(t, func(r []string) string {
			return fmt.Sprintf("%s refs\n%s concurrent", strings.TrimSuffix(r[refs], " (/bin/true alone)"), r[c])
		}),
	}, nil
}

func webhookChart(t table) (chart, error) {
	names := []string{"create p50 / p99 ms", "create p50 / p99 ms#1"}
	if t.col("create p50 ms") >= 0 {
		names = []string{"create p50 ms", "p99 ms"}
	}
	s, err := columns(t, names...)
	if err != nil {
		return chart{}, err
	}
	s[0].name, s[1].name = "p50", "p99"
	p, c := t.col("pods"), t.col("concurrent")
	return chart{
		title: "pod create latency through the webhook (bench-webhook)", ylabel: "ms (log scale)", log: true, series: s,
		runs: labels(t, func(r []string) string {
			return fmt.Sprintf("%s\n%s concurrent", wrap(r[p]), r[c])
		}),
	}, nil
}

func controllerChart(t table) (chart, error) {
	s, err := columns(t, "store reads", "store logins", "TokenRequests", "Secret writes")
	if err != nil {
		return chart{}, err
	}
	p := t.col("phase")
	return chart{
		title: "Secret sync controller, requests per phase (bench-controller)", ylabel: "requests", series: s,
		runs: labels(t, func(r []string) string { return wrap(r[p]) }),
	}, nil
}

// wrap breaks a label into lines of about 13 characters.
func wrap(s string) string {
	var lines []string
	cur := ""
	for _, w := range strings.Fields(strings.ReplaceAll(s, ",", "")) {
		if cur != "" && len(cur)+1+len(w) > 13 {
			lines = append(lines, cur)
			cur = w
			continue
		}
		if cur != "" {
			cur += " "
		}
		cur += w
	}
	return strings.Join(append(lines, cur), "\n")
}

func (c chart) save(file string) error {
	p := plot.New()
	p.Title.Text = c.title
	p.Y.Label.Text = c.ylabel
	p.Legend.Top = true
	p.Y.Tick.Marker = plot.DefaultTicks{}
	n := float64(len(c.series))
	if c.log {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		var ticks []plot.Tick
		for i, r := range c.runs {
			ticks = append(ticks, plot.Tick{Value: float64(i), Label: r})
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
		p.X.Min, p.X.Max = -0.5, float64(len(c.runs))-0.5
		for i, s := range c.series {
			pts := make(plotter.XYs, len(s.values))
			for j, v := range s.values {
				pts[j].X = float64(j) + (float64(i)-(n-1)/2)*0.12
				pts[j].Y = v
			}
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return err
			}
			sc.GlyphStyle.Color = plotutil.Color(i)
			sc.GlyphStyle.Shape = plotutil.Shape(i)
			sc.GlyphStyle.Radius = vg.Points(4)
			p.Add(sc)
			p.Legend.Add(s.name, sc)
		}
		p.Add(plotter.NewGrid())
		// Room above the highest point for the legend.
		p.Y.Max *= 4
	} else {
		width := vg.Points(12)
		for i, s := range c.series {
			b, err := plotter.NewBarChart(plotter.Values(s.values), width)
			if err != nil {
				return err
			}
			b.Color = plotutil.Color(i)
			b.LineStyle.Width = 0
			b.Offset = vg.Length(float64(i)-(n-1)/2) * width
			p.Add(b)
			p.Legend.Add(s.name, b)
		}
		p.NominalX(c.runs...)
		p.X.Min, p.X.Max = -0.6, float64(len(c.runs))-0.4
		p.Y.Max *= 1.35
	}
	p.X.Tick.Label.YAlign = draw.YTop
	return p.Save(11*vg.Inch, 5*vg.Inch, file)
}
