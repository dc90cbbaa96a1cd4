// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package injection holds the settings of entrypoint injection (way 3): the
// pod annotations the webhook reads, and the environment variables through
// which it hands them to the env injector in each container. Both binaries
// parse with this package, so what the webhook accepts at admission is what
// the injector understands at start.
//
// Every setting is one row of the table below; the annotation parser
// (annotations.go), the variable parser and the serializer (environment.go)
// all walk it, so a setting cannot be read one way and written another.
package injection

import (
	"errors"
	"fmt"
	"time"

	"github.com/deckhouse/secrets-store-integration/images/internal/envref"
	"github.com/deckhouse/secrets-store-integration/images/internal/params"
)

// Restart modes (annotation restart-on-secret-change).
const (
	// RestartNone: the injector execs the app and is gone.
	RestartNone = "none"
	// RestartWatchForLease: the injector stays the app's parent, renews
	// leases and its token, and ends the app when a lease cannot be renewed.
	RestartWatchForLease = "watch-for-lease"
	// RestartWatchForData: the injector stays the app's parent, polls the
	// store, and ends the app when a value changed.
	RestartWatchForData = "watch-for-data"
)

// Defaults of the injector, where neither an annotation nor the module
// says otherwise.
const (
	DefaultAuthPath       = "kubernetes"
	DefaultClientTimeout  = 10 * time.Second
	DefaultPollInterval   = 5 * time.Minute
	DefaultGracePeriod    = 30 * time.Second
	DefaultTokenPath      = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	DefaultTerminationLog = "/dev/termination-log"
	DefaultLogLevel       = "info"
	minPollInterval       = time.Second
	maxClientTimeout      = 5 * time.Minute
)

// Config is what the injector in one container needs.
type Config struct {
	Address   string
	Role      string
	AuthPath  string
	Namespace string
	// CACertFile is a CA bundle file (the tls-secret volume); CACertPEM
	// the module's CA. Neither: the system roots.
	CACertFile, CACertPEM string
	SkipVerify            bool
	// EnvFromPath are secrets whose every key becomes a variable; later
	// ones win, explicit references win over all of them.
	EnvFromPath    []envref.Secret
	IgnoreMissing  bool
	ClientTimeout  time.Duration
	LogLevel       string
	JSONLog        bool
	TokenPath      string
	Restart        string
	PollInterval   time.Duration
	GracePeriod    time.Duration
	TerminationLog string
}

// Settings are a pod's annotations, parsed: the injector's Config plus what
// only the webhook uses.
type Settings struct {
	Config
	// TLSSecret names a Secret in the pod's namespace with the store's CA
	// (key ca.crt), mounted into each mutated container.
	TLSSecret      string
	MutateProbes   bool
	SkipContainers []string
	// TokenPathSet says the pod brings its own token file; the webhook then
	// adds no token volume.
	TokenPathSet bool
	// PullPolicy is the init container's imagePullPolicy (Always,
	// IfNotPresent, Never); empty: the module's.
	PullPolicy string
	// Delivery is how the values reach the containers: DeliveryEntrypoint
	// or DeliveryContainerd.
	Delivery string
}

// FieldError is a bad setting; Field names the annotation or variable.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// A setting is one row of the table: where the webhook reads it, how it
// reaches the injector, its default and its parser.
type setting struct {
	annotation string // without AnnotationPrefix; empty: no annotation sets it
	env        string // empty: the webhook alone uses it
	def        string // the injector's default, as the variable spells it
	// required settings are refused when missing or empty.
	required bool
	codec
	// warn, if set, looks at a value that parsed and names its risk.
	warn func(s *Settings) string
	// module names the module's setting that gives the webhook's default,
	// and fromModule reads that default from the module's flags.
	module     string
	fromModule func(d params.Defaults) string
	// carried, if set, reports whether a variable carries the setting for
	// c. Where none does, the setting keeps its default, so that a
	// configuration has one spelling in the environment.
	carried func(c *Config) bool
}

// codec moves one field between its text and a Settings.
type codec struct {
	parse  func(s *Settings, v string) error
	format func(c *Config) string // "": no variable
}

// settings is the table. Order matters where a row looks at another:
// restart-on-secret-change comes before secret-poll-interval.
var settings = []setting{
	{annotation: AnnotationAddr, env: EnvAddr, required: true, codec: text(func(s *Settings) *string { return &s.Address }, parseAddress),
		module: "connection.url", fromModule: func(d params.Defaults) string { return d.Address }, warn: addressRisk},
	{annotation: AnnotationRole, env: EnvRole, required: true, codec: text(func(s *Settings) *string { return &s.Role }, parseRole)},
	{annotation: "auth-path", env: "VAULT_AUTH_PATH", def: DefaultAuthPath, codec: text(func(s *Settings) *string { return &s.AuthPath }, parseAuthPath),
		module: "connection.authPath", fromModule: func(d params.Defaults) string { return d.AuthMount }},
	{annotation: "namespace", env: "VAULT_NAMESPACE", codec: text(func(s *Settings) *string { return &s.Namespace }, nil),
		module: "connection.namespace", fromModule: func(d params.Defaults) string { return d.Namespace }},
	{annotation: "tls-secret", codec: text(func(s *Settings) *string { return &s.TLSSecret }, parseName)},
	{env: EnvCACert, codec: text(func(s *Settings) *string { return &s.CACertFile }, nil)},
	{env: EnvCACertPEM, codec: text(func(s *Settings) *string { return &s.CACertPEM }, nil)},
	{annotation: "tls-skip-verify", env: "VAULT_SKIP_VERIFY", codec: boolean(func(s *Settings) *bool { return &s.SkipVerify }),
		warn: func(s *Settings) string {
			if !s.SkipVerify {
				return ""
			}
			return "the store's certificate is not verified; anyone on the path can read the pod's token and secrets"
		}},
	{annotation: "env-from-path", env: "VAULT_ENV_FROM_PATH", codec: value(func(s *Settings) *[]envref.Secret { return &s.EnvFromPath },
		parseEnvFromPath, formatEnvFromPath)},
	{annotation: "ignore-missing-secrets", env: "VAULT_IGNORE_MISSING_SECRETS", codec: boolean(func(s *Settings) *bool { return &s.IgnoreMissing })},
	{annotation: "client-timeout", env: "VAULT_CLIENT_TIMEOUT", def: DefaultClientTimeout.String(),
		codec: duration(func(s *Settings) *time.Duration { return &s.ClientTimeout }, parseClientTimeout)},
	{annotation: AnnotationMutateProbes, codec: boolean(func(s *Settings) *bool { return &s.MutateProbes })},
	{annotation: "log-level", env: "VAULT_LOG_LEVEL", def: DefaultLogLevel, codec: text(func(s *Settings) *string { return &s.LogLevel }, parseLogLevel)},
	{annotation: "enable-json-log", env: "VAULT_JSON_LOG", codec: boolean(func(s *Settings) *bool { return &s.JSONLog })},
	{annotation: AnnotationSkipMutateContainers, codec: value(func(s *Settings) *[]string { return &s.SkipContainers }, parseNames, nil)},
	{annotation: "service-account-token-path", env: EnvTokenPath, def: DefaultTokenPath,
		codec: text(func(s *Settings) *string { return &s.TokenPath }, parseAbsPath)},
	{annotation: AnnotationRestartOnSecretChange, env: "VAULT_RESTART_ON_SECRET_CHANGE", def: RestartNone,
		codec: text(func(s *Settings) *string { return &s.Restart }, parseRestart)},
	{annotation: "secret-poll-interval", env: "VAULT_SECRET_POLL_INTERVAL", def: DefaultPollInterval.String(),
		codec: duration(func(s *Settings) *time.Duration { return &s.PollInterval }, parsePollInterval),
		warn: func(s *Settings) string {
			if s.Restart == RestartWatchForData {
				return ""
			}
			return "has no effect unless " + AnnotationPrefix + AnnotationRestartOnSecretChange + " is " + RestartWatchForData
		},
		carried: func(c *Config) bool { return c.Restart == RestartWatchForData }},
	{annotation: AnnotationDelivery, def: DeliveryEntrypoint, codec: text(func(s *Settings) *string { return &s.Delivery }, parseDelivery)},
	{annotation: "env-injector-pull-policy", codec: text(func(s *Settings) *string { return &s.PullPolicy }, parsePullPolicy)},
	// The pod's terminationGracePeriodSeconds, set by the webhook.
	{env: EnvGracePeriod, def: DefaultGracePeriod.String(),
		codec:   duration(func(s *Settings) *time.Duration { return &s.GracePeriod }, parseGracePeriod),
		carried: func(c *Config) bool { return c.Restart != RestartNone }},
	// Left out at its default: only a hand-written environment changes it.
	{env: "VAULT_TERMINATION_LOG", def: DefaultTerminationLog, codec: text(func(s *Settings) *string { return &s.TerminationLog }, nil),
		carried: func(c *Config) bool { return c.TerminationLog != DefaultTerminationLog }},
}

// value builds the codec of a field of type T; a nil format leaves the
// field out of the environment.
func value[T any](field func(*Settings) *T, parse func(string) (T, error), format func(T) string) codec {
	c := codec{parse: func(s *Settings, v string) error {
		x, err := parse(v)
		if err == nil {
			*field(s) = x
		}
		return err
	}}
	if format != nil {
		c.format = func(cfg *Config) string { return format(*field(&Settings{Config: *cfg})) }
	}
	return c
}

func text(field func(*Settings) *string, parse func(string) (string, error)) codec {
	if parse == nil {
		parse = func(v string) (string, error) { return v, nil }
	}
	return value(field, parse, func(v string) string { return v })
}

func boolean(field func(*Settings) *bool) codec {
	return value(field, parseBool, func(b bool) string {
		if b {
			return "true"
		}
		return ""
	})
}

func duration(field func(*Settings) *time.Duration, parse func(string) (time.Duration, error)) codec {
	return value(field, parse, time.Duration.String)
}

// defaults are the injector's settings before any annotation or variable.
func defaults() Settings {
	var s Settings
	for _, row := range settings {
		if row.def != "" {
			if err := row.parse(&s, row.def); err != nil {
				panic("injection: default of " + row.env + ": " + err.Error()) // a bad table: caught by any test
			}
		}
	}
	return s
}

// read walks the rows that name says are set here: lookup finds a row's
// text by that name. Where it finds none, a row takes the module's default
// from d (the webhook's side; nil for the injector's): a required row
// parses it even when empty, so that a missing or bad default is refused
// like bad text, with a hint at the module's setting. It returns the
// warnings and the error of every bad row.
func read(s *Settings, name func(setting) string, field func(string) string, lookup func(string) (string, bool),
	d *params.Defaults) ([]string, error) {
	var warnings []string
	var errs []error
	for _, row := range settings {
		n := name(row)
		if n == "" {
			continue
		}
		v, ok := lookup(n)
		module := !ok && d != nil && row.fromModule != nil
		if module {
			v = row.fromModule(*d)
		}
		if !ok && !row.required && v == "" {
			continue
		}
		if err := row.parse(s, v); err != nil {
			if module {
				err = fmt.Errorf("%w; set the annotation or the module's %s", err, row.module)
			}
			errs = append(errs, &FieldError{Field: field(n), Err: err})
			continue
		}
		if row.warn != nil {
			if w := row.warn(s); w != "" {
				warnings = append(warnings, field(n)+": "+w)
			}
		}
	}
	s.reset()
	return warnings, errors.Join(errs...)
}

// reset gives the settings that s's mode does not read their defaults.
func (s *Settings) reset() {
	for _, row := range settings {
		if row.carried != nil && !row.carried(&s.Config) {
			_ = row.parse(s, row.def) // parsed once already by defaults
		}
	}
}
