// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package metricstest

import (
	"fmt"
	"strings"
	"unicode"
)

// Identifiers that are never metric names even when not followed by "(":
// aggregation operators (their grouping may come first: sum by (x) (...)),
// binary set operators, modifiers and the literals PromQL knows.
var keywords = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
	"and": true, "or": true, "unless": true, "atan2": true, "bool": true, "offset": true,
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	"inf": true, "nan": true, "start": true, "end": true,
}

// Keywords followed by a parenthesised list of label names, not of expressions.
var labelLists = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// MetricNames returns the metric names a PromQL expression selects, in order
// of appearance. It is a lexer, not a parser: enough for the expressions of
// dashboards and rules (selectors, functions, aggregations, binary operators,
// Grafana's $variables), so that the module needs no Prometheus server
// dependency. Names in the {__name__="..."} form are not supported and are
// reported as an error, so that the cross-check cannot silently miss one.
func MetricNames(expr string) ([]string, error) {
	var names []string
	s := expr
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(s, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '{':
			end, err := skipLabelMatchers(s, i)
			if err != nil {
				return nil, err
			}
			i = end
		case c == '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed [ at %d in %q", i, expr)
			}
			i += end + 1
		case c == '$':
			// A Grafana variable: $name, ${name} or [[name]].
			i++
			if i < len(s) && s[i] == '{' {
				end := strings.IndexByte(s[i:], '}')
				if end < 0 {
					return nil, fmt.Errorf("unclosed ${ at %d in %q", i, expr)
				}
				i += end + 1
				continue
			}
			for i < len(s) && isIdentChar(s[i]) {
				i++
			}
		case c >= '0' && c <= '9' || c == '.':
			// Numbers and durations (5m, 1h30m, 0x1f, 1e3).
			for i < len(s) && (isIdentChar(s[i]) || s[i] == '.') {
				i++
			}
		case isIdentStart(c):
			start := i
			for i < len(s) && isIdentChar(s[i]) {
				i++
			}
			word := s[start:i]
			next := nextNonSpace(s, i)
			lower := strings.ToLower(word)
			switch {
			case labelLists[lower] && next < len(s) && s[next] == '(':
				end := strings.IndexByte(s[next:], ')')
				if end < 0 {
					return nil, fmt.Errorf("unclosed label list after %s in %q", word, expr)
				}
				i = next + end + 1
			case keywords[lower]:
			case next < len(s) && s[next] == '(':
				// A function call.
			default:
				names = append(names, word)
			}
		default:
			i++
		}
	}
	return names, nil
}

// skipLabelMatchers returns the index after the "}" closing the matchers
// that open at s[i], refusing the __name__ matcher.
func skipLabelMatchers(s string, i int) (int, error) {
	for j := i + 1; j < len(s); {
		switch c := s[j]; {
		case c == '}':
			return j + 1, nil
		case c == '"' || c == '\'' || c == '`':
			if j == i+1 || strings.TrimSpace(s[i+1:j]) == "" || strings.HasSuffix(strings.TrimSpace(s[i+1:j]), ",") {
				return 0, fmt.Errorf("quoted metric name in %q: not supported", s)
			}
			end, err := skipString(s, j)
			if err != nil {
				return 0, err
			}
			j = end
		case isIdentStart(c):
			start := j
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			if s[start:j] == "__name__" {
				return 0, fmt.Errorf("__name__ matcher in %q: not supported", s)
			}
		default:
			j++
		}
	}
	return 0, fmt.Errorf("unclosed { at %d in %q", i, s)
}

// skipString returns the index after the string literal opening at s[i].
func skipString(s string, i int) (int, error) {
	quote := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if quote != '`' {
				j++
			}
		case quote:
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unclosed string at %d in %q", i, s)
}

func nextNonSpace(s string, i int) int {
	for i < len(s) && unicode.IsSpace(rune(s[i])) {
		i++
	}
	return i
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
