// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package injection

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/deckhouse/secrets-store-integration/images/internal/envref"
	"github.com/deckhouse/secrets-store-integration/images/internal/store"
)

// The parsers of the table's values: each returns the value or an error
// that quotes the text; the caller names the annotation or variable.

func parseRole(v string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return "", errors.New("empty role: name the store role to log in as")
	}
	return v, nil
}

// parseAddress accepts https (and, with a warning, http) URLs with a host.
func parseAddress(v string) (string, error) {
	if v == "" {
		return "", errors.New("no store address")
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("%q is not an https:// URL of the store", v)
	}
	return v, nil
}

func addressRisk(s *Settings) string {
	if strings.HasPrefix(s.Address, "http://") {
		return "plain http: the pod's token and its secrets cross the network unencrypted"
	}
	return ""
}

func parseAuthPath(v string) (string, error) {
	v = strings.Trim(v, "/")
	if v == "" || strings.Contains("/"+v+"/", "/../") || strings.ContainsAny(v, " ?#") {
		return "", fmt.Errorf("%q is not an auth method path such as kubernetes", v)
	}
	return v, nil
}

// parseName accepts a DNS-1123 subdomain, the form of a Secret's name.
func parseName(v string) (string, error) {
	if v == "" || len(v) > 253 {
		return "", fmt.Errorf("%q is not a Secret name", v)
	}
	for i, r := range v {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || (r == '-' || r == '.') && i > 0 && i < len(v)-1
		if !ok {
			return "", fmt.Errorf("%q is not a Secret name (lower-case letters, digits, '-' and '.')", v)
		}
	}
	return v, nil
}

// parseNames splits container names on commas and on spaces: the existing
// module's webhook splits skip-mutate-containers on spaces, ours on commas,
// and container names hold neither.
func parseNames(v string) ([]string, error) {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }), nil
}

func parseAbsPath(v string) (string, error) {
	if !path.IsAbs(v) || path.Clean(v) != v {
		return "", fmt.Errorf("%q is not a clean absolute path", v)
	}
	return v, nil
}

func parseBool(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%q is not true or false", v)
	}
	return b, nil
}

// parseEnvFromPath reads "PATH[#VERSION],PATH...".
func parseEnvFromPath(v string) ([]envref.Secret, error) {
	var out []envref.Secret
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, ver, hasVer := strings.Cut(item, "#")
		sec := envref.Secret{Path: p}
		if hasVer {
			n, err := strconv.Atoi(ver)
			if err != nil || n <= 0 || strings.HasPrefix(ver, "+") {
				return nil, fmt.Errorf("%q: version %q is not a positive number", item, ver)
			}
			sec.Version = n
		}
		if err := store.ValidatePath(p); err != nil {
			return nil, fmt.Errorf("path %w", err)
		}
		out = append(out, sec)
	}
	if len(out) == 0 {
		return nil, errors.New("no path: want a comma-separated list such as secret/data/app,secret/data/common")
	}
	return out, nil
}

func formatEnvFromPath(secrets []envref.Secret) string {
	var ps []string
	for _, p := range secrets {
		ps = append(ps, p.String())
	}
	return strings.Join(ps, ",")
}

func parseClientTimeout(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > maxClientTimeout {
		return 0, fmt.Errorf("%q is not a duration between 0s and %s, such as 10s", v, maxClientTimeout)
	}
	return d, nil
}

func parsePollInterval(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < minPollInterval {
		return 0, fmt.Errorf("%q is not a duration of at least %s, such as 5m", v, minPollInterval)
	}
	return d, nil
}

func parseGracePeriod(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration such as 30s", v)
	}
	return d, nil
}

// oneOf builds the parser of a value from a fixed list.
func oneOf(values ...string) func(string) (string, error) {
	return func(v string) (string, error) {
		if !slices.Contains(values, v) {
			return "", fmt.Errorf("%q is not one of %s", v, strings.Join(values, ", "))
		}
		return v, nil
	}
}

var (
	parseLogLevel   = oneOf("debug", "info", "warn", "error")
	parseRestart    = oneOf(RestartNone, RestartWatchForLease, RestartWatchForData)
	parsePullPolicy = oneOf("Always", "IfNotPresent", "Never")
	parseDelivery   = oneOf(DeliveryEntrypoint, DeliveryContainerd)
)
