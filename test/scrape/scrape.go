// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package scrape reads what a binary serves on /metrics (the Prometheus text
// format) into samples a test can sum over labels.
package scrape

import (
	"fmt"
	"strconv"
	"strings"
)

// Sample is one series of a Prometheus text exposition.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Metrics is a scraped /metrics.
type Metrics []Sample

// Sum adds the samples of name whose labels include every pair of match
// (nil matches all): a counter summed over the labels left out.
func (m Metrics) Sum(name string, match map[string]string) float64 {
	var sum float64
	for _, s := range m {
		if s.Name == name && hasLabels(s.Labels, match) {
			sum += s.Value
		}
	}
	return sum
}

func hasLabels(labels, match map[string]string) bool {
	for k, v := range match {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// Parse reads the Prometheus text format (version 0.0.4).
func Parse(text string) (Metrics, error) {
	var m Metrics
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseSample(line)
		if err != nil {
			return nil, fmt.Errorf("line %d %q: %w", n+1, line, err)
		}
		m = append(m, s)
	}
	return m, nil
}

// parseSample reads `name{label="value",...} value [timestamp]`.
func parseSample(line string) (Sample, error) {
	s := Sample{Labels: map[string]string{}}
	i := strings.IndexAny(line, "{ ")
	if i <= 0 {
		return s, fmt.Errorf("no value")
	}
	s.Name = line[:i]
	rest := line[i:]
	if rest[0] == '{' {
		var err error
		rest, err = parseLabels(rest[1:], s.Labels)
		if err != nil {
			return s, err
		}
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return s, fmt.Errorf("no value")
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, fmt.Errorf("value: %w", err)
	}
	s.Value = v
	return s, nil
}

// parseLabels reads label pairs up to the closing brace into labels and
// returns what follows it. Values are quoted with \\, \" and \n escapes.
func parseLabels(text string, labels map[string]string) (string, error) {
	for {
		text = strings.TrimLeft(text, " ,")
		if strings.HasPrefix(text, "}") {
			return text[1:], nil
		}
		name, after, ok := strings.Cut(text, "=")
		if !ok || !strings.HasPrefix(after, `"`) {
			return "", fmt.Errorf("label at %q", text)
		}
		var value strings.Builder
		i := 1
		for ; i < len(after) && after[i] != '"'; i++ {
			c := after[i]
			if c == '\\' && i+1 < len(after) {
				i++
				switch after[i] {
				case 'n':
					c = '\n'
				default:
					c = after[i]
				}
			}
			value.WriteByte(c)
		}
		if i >= len(after) {
			return "", fmt.Errorf("unterminated value of label %s", name)
		}
		labels[strings.TrimSpace(name)] = value.String()
		text = after[i+1:]
	}
}
