// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package injection

import (
	"errors"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"testing/quick"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/internal/envref"
)

func TestEnvRoundTrip(t *testing.T) {
	for _, a := range []map[string]string{
		ann("role", "app"),
		ann("role", "app", "addr", "https://v:8200", "namespace", "ns1", "tls-skip-verify", "true", "env-from-path", "a/b,c/d#2",
			"ignore-missing-secrets", "true", "client-timeout", "1m", "log-level", "warn", "enable-json-log", "true",
			"restart-on-secret-change", "watch-for-data", "secret-poll-interval", "2s"),
		ann("role", "app", "restart-on-secret-change", "watch-for-lease"),
	} {
		s, _, err := FromAnnotations(a, moduleDefaults)
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{"PATH": "/bin"}
		for _, e := range s.Config.Env() {
			if !IsConfigVar(e.Name) {
				t.Fatalf("Env sets %s, which IsConfigVar does not know: the app would see it", e.Name)
			}
			env[e.Name] = e.Value
		}
		got, err := FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, s.Config) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, s.Config)
		}
	}
}

func TestFromEnvNamesTheVariable(t *testing.T) {
	env := map[string]string{EnvAddr: "https://v", EnvRole: "app", "VAULT_RESTART_ON_SECRET_CHANGE": "sometimes", "VAULT_CLIENT_TIMEOUT": "x"}
	_, err := FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	for _, w := range []string{"variable VAULT_RESTART_ON_SECRET_CHANGE: \"sometimes\"", "variable VAULT_CLIENT_TIMEOUT: \"x\""} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v lacks %q", err, w)
		}
	}
}

// lookupIn reads variables from a map, as os.LookupEnv does.
func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func envMap(c Config) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env() {
		env[e.Name] = e.Value
	}
	return env
}

// generated is a Config of valid values, drawn at random for testing/quick.
type generated Config

func (generated) Generate(r *rand.Rand, _ int) reflect.Value {
	word := func() string {
		const letters = "abcdefghijklmnopqrstuvwxyz0123456789-_."
		b := make([]byte, 1+r.Intn(12))
		for i := range b {
			b[i] = letters[r.Intn(len(letters))]
		}
		return "x" + string(b)
	}
	maybe := func(v string) string {
		if r.Intn(2) == 0 {
			return ""
		}
		return v
	}
	pick := func(vs ...string) string { return vs[r.Intn(len(vs))] }
	between := func(lo, hi time.Duration) time.Duration { return lo + time.Duration(r.Int63n(int64(hi-lo)+1)) }
	c := Config{
		Address:    pick("https://", "http://") + word() + pick("", ":8200", "/v1"),
		Role:       word(),
		AuthPath:   word() + maybe("/"+word()),
		Namespace:  maybe(word() + "/" + word()),
		CACertFile: maybe("/" + word() + "/ca.crt"),
		CACertPEM:  maybe("-----BEGIN CERTIFICATE-----\n" + word() + "\n-----END CERTIFICATE-----\n"),
		SkipVerify: r.Intn(2) == 0, IgnoreMissing: r.Intn(2) == 0, JSONLog: r.Intn(2) == 0,
		ClientTimeout:  between(time.Nanosecond, maxClientTimeout),
		LogLevel:       pick("debug", "info", "warn", "error"),
		TokenPath:      "/" + word() + "/" + word(),
		Restart:        pick(RestartNone, RestartWatchForLease, RestartWatchForData),
		PollInterval:   between(minPollInterval, 24*time.Hour),
		GracePeriod:    between(0, time.Hour),
		TerminationLog: pick(DefaultTerminationLog, "/"+word()),
	}
	for range r.Intn(4) {
		s := envref.Secret{Path: word() + "/data/" + word()}
		if r.Intn(2) == 0 {
			s.Version = 1 + r.Intn(100)
		}
		c.EnvFromPath = append(c.EnvFromPath, s)
	}
	// What a mode does not read has one value, the default, whatever the
	// pod said: the poll interval outside watch-for-data, the grace
	// period without a watch.
	if c.Restart != RestartWatchForData {
		c.PollInterval = DefaultPollInterval
	}
	if c.Restart == RestartNone {
		c.GracePeriod = DefaultGracePeriod
	}
	return reflect.ValueOf(generated(c))
}

// TestEnvRoundTripProperty: every valid configuration reaches the injector
// unchanged through its variables.
func TestEnvRoundTripProperty(t *testing.T) {
	roundTrip := func(g generated) bool {
		c := Config(g)
		got, err := FromEnv(lookupIn(envMap(c)))
		if err != nil {
			t.Logf("FromEnv(Env(%+v)): %v", c, err)
			return false
		}
		if !reflect.DeepEqual(got, c) {
			t.Logf("round trip\n got %+v\nwant %+v", got, c)
			return false
		}
		return true
	}
	if err := quick.Check(roundTrip, &quick.Config{MaxCount: 2000}); err != nil {
		t.Fatal(err)
	}
}

// FuzzFromEnv: any environment is accepted or refused with an error naming
// a variable, and what is accepted has one spelling: written out by Env and
// read again, it is the same configuration.
func FuzzFromEnv(f *testing.F) {
	vars := envNames()
	// One value per variable of the table, in table order, joined by NUL
	// (which no variable can hold).
	seed := func(kv map[string]string) string {
		var vs []string
		for _, name := range vars {
			vs = append(vs, kv[name])
		}
		return strings.Join(vs, "\x00")
	}
	f.Add(seed(map[string]string{EnvAddr: "https://v:8200", EnvRole: "app"}))
	f.Add(seed(map[string]string{EnvAddr: "http://v", EnvRole: " app ", "VAULT_AUTH_PATH": "/k8s/", "VAULT_ENV_FROM_PATH": "a/b, c/d#02,",
		"VAULT_RESTART_ON_SECRET_CHANGE": RestartWatchForData, "VAULT_SECRET_POLL_INTERVAL": "90s", EnvGracePeriod: "0s", "VAULT_SKIP_VERIFY": "1"}))
	f.Add(seed(map[string]string{EnvAddr: "https://v", EnvRole: "r", "VAULT_RESTART_ON_SECRET_CHANGE": RestartNone,
		"VAULT_SECRET_POLL_INTERVAL": "1h", EnvGracePeriod: "1m", "VAULT_TERMINATION_LOG": "/tmp/log", "VAULT_JSON_LOG": "false"}))
	f.Add(seed(map[string]string{EnvAddr: "vault:8200", "VAULT_CLIENT_TIMEOUT": "0s", "VAULT_LOG_LEVEL": "trace"}))
	f.Fuzz(func(t *testing.T, joined string) {
		env := map[string]string{}
		for i, v := range strings.SplitN(joined, "\x00", len(vars)) {
			env[vars[i]] = v
		}
		c, err := FromEnv(lookupIn(env))
		if err != nil {
			for _, e := range unjoin(err) {
				var fe *FieldError
				if !errors.As(e, &fe) || !strings.HasPrefix(fe.Field, "variable VAULT_") {
					t.Fatalf("error without the variable's name: %v", e)
				}
			}
			return
		}
		got, err := FromEnv(lookupIn(envMap(c)))
		if err != nil {
			t.Fatalf("FromEnv refuses what Env wrote of %+v: %v", c, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip\n got %+v\nwant %+v", got, c)
		}
	})
}

func envNames() []string {
	var names []string
	for _, row := range settings {
		if row.env != "" {
			names = append(names, row.env)
		}
	}
	return names
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// TestTable: each setting has a name, one row, and a default its own
// parser accepts; each variable is one the injector hides from the app.
func TestTable(t *testing.T) {
	seen := map[string]bool{}
	for _, row := range settings {
		if row.annotation == "" && row.env == "" {
			t.Errorf("a row with neither an annotation nor a variable: %+v", row)
		}
		for _, name := range []string{"annotation " + row.annotation, "variable " + row.env} {
			if !strings.HasSuffix(name, " ") && seen[name] {
				t.Errorf("%s has two rows", name)
			}
			seen[name] = true
		}
		if row.env != "" && (row.format == nil || !IsConfigVar(row.env)) {
			t.Errorf("variable %s: no format, or not hidden from the app", row.env)
		}
		if row.def != "" {
			var s Settings
			if err := row.parse(&s, row.def); err != nil {
				t.Errorf("%s%s: default %q: %v", row.annotation, row.env, row.def, err)
			}
		}
	}
	if IsConfigVar("") || IsConfigVar("PATH") {
		t.Error("IsConfigVar claims a variable of the app")
	}
}

// TestEnvLeavesOut: a variable is left out where the injector's mode does
// not read it or its value is unset; the pod's grace period, zero
// included, reaches the injector in the watch modes.
func TestEnvLeavesOut(t *testing.T) {
	base, err := FromEnv(lookupIn(map[string]string{EnvAddr: "https://v", EnvRole: "app"}))
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(*Config)) Config { c := base; f(&c); return c }
	tests := []struct {
		name    string
		c       Config
		want    map[string]string
		leftOut []string
	}{
		{"default mode", with(func(c *Config) { c.GracePeriod, c.PollInterval = time.Minute, time.Hour }),
			map[string]string{EnvAddr: "https://v", EnvRole: "app", "VAULT_AUTH_PATH": DefaultAuthPath, "VAULT_RESTART_ON_SECRET_CHANGE": RestartNone},
			[]string{EnvGracePeriod, "VAULT_SECRET_POLL_INTERVAL", "VAULT_TERMINATION_LOG", "VAULT_SKIP_VERIFY", "VAULT_NAMESPACE", EnvCACert}},
		{"watch for data", with(func(c *Config) { c.Restart, c.GracePeriod, c.PollInterval = RestartWatchForData, 0, time.Hour }),
			map[string]string{EnvGracePeriod: "0s", "VAULT_SECRET_POLL_INTERVAL": "1h0m0s"}, nil},
		{"watch for lease", with(func(c *Config) { c.Restart, c.GracePeriod = RestartWatchForLease, 45*time.Second }),
			map[string]string{EnvGracePeriod: "45s"}, []string{"VAULT_SECRET_POLL_INTERVAL"}},
		{"own termination log", with(func(c *Config) { c.TerminationLog, c.SkipVerify = "/log", true }),
			map[string]string{"VAULT_TERMINATION_LOG": "/log", "VAULT_SKIP_VERIFY": "true"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := envMap(tt.c)
			for k, v := range tt.want {
				if got, ok := env[k]; !ok || got != v {
					t.Errorf("%s=%q (set: %t), want %q", k, got, ok, v)
				}
			}
			for _, k := range tt.leftOut {
				if v, ok := env[k]; ok {
					t.Errorf("%s=%q, want it left out", k, v)
				}
			}
		})
	}
}
