// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Grafana's grid: 24 columns; a row unit is 30 px high. The picture keeps
// the proportions at 50 px per column.
const (
	colWidth  = 50
	rowHeight = 30
)

func (d dashboard) draw(file string, o options) error {
	var rows float64
	for _, p := range d.Panels {
		if bottom := p.GridPos.Y + p.GridPos.H; bottom > rows {
			rows = bottom
		}
	}
	title := 40.0
	w, h := vg.Length(24*colWidth), vg.Length(rows*rowHeight+title)
	c := vgsvg.New(w, h)
	dc := draw.New(c)
	dc.FillString(font.DefaultCache.Lookup(plot.DefaultFont, vg.Points(14)), vg.Point{X: 10, Y: h - 28}, fmt.Sprintf("%s — %s to %s", d.Title, o.start.UTC().Format("2006-01-02 15:04:05"), o.end.UTC().Format("15:04:05 UTC")))
	for _, p := range d.Panels {
		minX := vg.Length(p.GridPos.X * colWidth)
		maxY := h - vg.Length(title+p.GridPos.Y*rowHeight)
		rect := vg.Rectangle{
			Min: vg.Point{X: minX + 4, Y: maxY - vg.Length(p.GridPos.H*rowHeight) + 4},
			Max: vg.Point{X: minX + vg.Length(p.GridPos.W*colWidth) - 4, Y: maxY - 4},
		}
		sub := draw.Canvas{Canvas: dc.Canvas, Rectangle: rect}
		if p.Type == "row" {
			sub.FillString(font.DefaultCache.Lookup(plot.DefaultFont, vg.Points(12)), vg.Point{X: rect.Min.X, Y: rect.Min.Y + 4}, "▸ "+p.Title)
			continue
		}
		pl, err := p.plot(o)
		if err != nil {
			return err
		}
		pl.Draw(sub)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (p panel) plot(o options) (*plot.Plot, error) {
	pl := plot.New()
	pl.Title.Text = p.Title
	if p.Type == "stat" {
		pl.Title.Text += " (stat)"
	}
	pl.X.Tick.Marker = minutes{start: float64(o.start.Unix())}
	pl.X.Min, pl.X.Max = float64(o.start.Unix()), float64(o.end.Unix())
	pl.Legend.Top = true
	pl.Legend.TextStyle.Font.Size = vg.Points(8)
	// Grafana's unit of the panel: s, reqps, ops, percentunit, ...
	pl.Y.Label.Text = units[p.FieldConfig.Defaults.Unit]
	if len(p.series) == 0 {
		pl.Title.Text += ": no data in this run"
		return pl, nil
	}
	for i, s := range p.series {
		if i >= 6 {
			break // a legend of more does not fit a panel
		}
		pts := make(plotter.XYs, len(s.points))
		for j, v := range s.points {
			pts[j].X, pts[j].Y = v[0], v[1]
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, err
		}
		l.Color = plotutil.Color(i)
		l.Width = vg.Points(1.5)
		pl.Add(l)
		pl.Legend.Add(s.name, l)
	}
	pl.Y.Min = 0
	pl.Y.Max *= 1.4
	return pl, nil
}

// units are Grafana's names of the panels' units as the axis says them.
var units = map[string]string{"s": "seconds", "ops": "per second", "reqps": "requests/s", "percentunit": "ratio"}

// minutes labels the time axis in time since the start of the range: in
// seconds for a short run, in minutes for a longer one.
type minutes struct{ start float64 }

func (m minutes) Ticks(min, max float64) []plot.Tick {
	step := 5.0
	for _, s := range []float64{5, 10, 15, 30, 60, 120, 300, 600} {
		step = s
		if (max-min)/s <= 10 {
			break
		}
	}
	var ticks []plot.Tick
	for t := m.start; t <= max; t += step {
		if t < min {
			continue
		}
		label := fmt.Sprintf("%.0f s", t-m.start)
		if step >= 60 {
			label = fmt.Sprintf("%.0f min", (t-m.start)/60)
		}
		ticks = append(ticks, plot.Tick{Value: t, Label: label})
	}
	return ticks
}
