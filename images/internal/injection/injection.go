// Package injection holds the settings of entrypoint injection (way 3): the
// pod annotations the webhook reads, and the environment variables through
// which it hands them to the env injector in each container. Both binaries
// parse with this package, so what the webhook accepts at admission is what
// the injector understands at start.
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

// AnnotationPrefix starts every pod annotation of the module.
const AnnotationPrefix = "secrets-store.deckhouse.io/"

// Pod annotations, without the prefix. Role is the opt-in.
const (
	AnnotationRole                    = "role"
	AnnotationAddr                    = "addr"
	AnnotationAuthPath                = "auth-path"
	AnnotationNamespace               = "namespace"
	AnnotationTLSSecret               = "tls-secret"
	AnnotationTLSSkipVerify           = "tls-skip-verify"
	AnnotationEnvFromPath             = "env-from-path"
	AnnotationIgnoreMissingSecrets    = "ignore-missing-secrets"
	AnnotationClientTimeout           = "client-timeout"
	AnnotationMutateProbes            = "mutate-probes"
	AnnotationLogLevel                = "log-level"
	AnnotationEnableJSONLog           = "enable-json-log"
	AnnotationSkipMutateContainers    = "skip-mutate-containers"
	AnnotationServiceAccountTokenPath = "service-account-token-path"
	AnnotationRestartOnSecretChange   = "restart-on-secret-change"
	AnnotationSecretPollInterval      = "secret-poll-interval"
	// AnnotationEnvInjectorPullPolicy is the imagePullPolicy of the
	// injector's init container, as in the existing module.
	AnnotationEnvInjectorPullPolicy = "env-injector-pull-policy"
)

var annotations = []string{
	AnnotationRole, AnnotationAddr, AnnotationAuthPath, AnnotationNamespace, AnnotationTLSSecret,
	AnnotationTLSSkipVerify, AnnotationEnvFromPath, AnnotationIgnoreMissingSecrets, AnnotationClientTimeout,
	AnnotationMutateProbes, AnnotationLogLevel, AnnotationEnableJSONLog, AnnotationSkipMutateContainers,
	AnnotationServiceAccountTokenPath, AnnotationRestartOnSecretChange, AnnotationSecretPollInterval,
	AnnotationEnvInjectorPullPolicy,
}

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

// Environment variables the webhook sets for the injector. The injector
// removes every one of them from the app's environment.
const (
	EnvAddr           = "VAULT_ADDR"
	EnvRole           = "VAULT_ROLE"
	EnvAuthPath       = "VAULT_AUTH_PATH"
	EnvNamespace      = "VAULT_NAMESPACE"
	EnvCACert         = "VAULT_CACERT"     // a CA file (from tls-secret)
	EnvCACertPEM      = "VAULT_CACERT_PEM" // the module's CA, inline
	EnvSkipVerify     = "VAULT_SKIP_VERIFY"
	EnvFromPath       = "VAULT_ENV_FROM_PATH"
	EnvIgnoreMissing  = "VAULT_IGNORE_MISSING_SECRETS"
	EnvClientTimeout  = "VAULT_CLIENT_TIMEOUT"
	EnvLogLevel       = "VAULT_LOG_LEVEL"
	EnvJSONLog        = "VAULT_JSON_LOG"
	EnvTokenPath      = "VAULT_SA_TOKEN_PATH"
	EnvRestart        = "VAULT_RESTART_ON_SECRET_CHANGE"
	EnvPollInterval   = "VAULT_SECRET_POLL_INTERVAL"
	EnvGracePeriod    = "VAULT_GRACE_PERIOD"
	EnvTerminationLog = "VAULT_TERMINATION_LOG"
)

var envVars = []string{
	EnvAddr, EnvRole, EnvAuthPath, EnvNamespace, EnvCACert, EnvCACertPEM, EnvSkipVerify, EnvFromPath,
	EnvIgnoreMissing, EnvClientTimeout, EnvLogLevel, EnvJSONLog, EnvTokenPath, EnvRestart, EnvPollInterval,
	EnvGracePeriod, EnvTerminationLog,
}

// IsConfigVar reports whether name is one of the injector's own variables.
func IsConfigVar(name string) bool { return slices.Contains(envVars, name) }

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
}

// Defaults come from the module's configuration.
type Defaults struct {
	Address, AuthPath, Namespace, CACertPEM string
}

// Enabled reports whether the pod opted in to injection.
func Enabled(ann map[string]string) bool {
	_, ok := ann[AnnotationPrefix+AnnotationRole]
	return ok
}

// FieldError is a bad setting; Field names the annotation or variable.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// FromAnnotations parses a pod's annotations. Warnings are risky but
// accepted settings; the error joins every bad annotation.
func FromAnnotations(ann map[string]string, d Defaults) (Settings, []string, error) {
	get := func(name string) (string, bool) {
		v, ok := ann[AnnotationPrefix+name]
		return v, ok
	}
	field := func(name string) string { return "annotation " + AnnotationPrefix + name }
	var errs []error
	bad := func(name string, err error) { errs = append(errs, &FieldError{Field: field(name), Err: err}) }
	var warnings []string

	for k := range ann {
		if name, ok := strings.CutPrefix(k, AnnotationPrefix); ok && !slices.Contains(annotations, name) && !strings.Contains(name, "/") {
			// Short: the API server truncates long warnings.
			warnings = append(warnings, fmt.Sprintf("%s is not a known annotation; it is ignored (a typo?)", k))
		}
	}
	slices.Sort(warnings)

	s := Settings{Config: Config{
		Address: d.Address, AuthPath: d.AuthPath, Namespace: d.Namespace, CACertPEM: d.CACertPEM,
		ClientTimeout: DefaultClientTimeout, LogLevel: DefaultLogLevel, Restart: RestartNone,
		PollInterval: DefaultPollInterval, GracePeriod: DefaultGracePeriod, TokenPath: DefaultTokenPath,
		TerminationLog: DefaultTerminationLog,
	}}
	if s.AuthPath == "" {
		s.AuthPath = DefaultAuthPath
	}
	s.Role, _ = get(AnnotationRole)
	if strings.TrimSpace(s.Role) == "" {
		bad(AnnotationRole, errors.New("empty role: name the store role to log in as"))
	}
	if v, ok := get(AnnotationAddr); ok {
		s.Address = v
		// A pod's own store: the module's CA does not apply to it.
		s.CACertPEM = ""
	}
	if w, err := checkAddress(s.Address); err != nil {
		if _, ok := get(AnnotationAddr); ok {
			bad(AnnotationAddr, err)
		} else {
			bad(AnnotationAddr, fmt.Errorf("%w; set the annotation or the module's connection.url", err))
		}
	} else if w != "" {
		warnings = append(warnings, field(AnnotationAddr)+": "+w)
	}
	if v, ok := get(AnnotationAuthPath); ok {
		s.AuthPath = strings.Trim(v, "/")
		if err := checkAuthPath(s.AuthPath); err != nil {
			bad(AnnotationAuthPath, err)
		}
	}
	if v, ok := get(AnnotationNamespace); ok {
		s.Namespace = v
	}
	if v, ok := get(AnnotationTLSSecret); ok {
		if err := checkName(v); err != nil {
			bad(AnnotationTLSSecret, err)
		}
		s.TLSSecret = v
	}
	boolean := func(name string, dst *bool) {
		if v, ok := get(name); ok {
			b, err := parseBool(v)
			if err != nil {
				bad(name, err)
			}
			*dst = b
		}
	}
	boolean(AnnotationTLSSkipVerify, &s.SkipVerify)
	if s.SkipVerify {
		warnings = append(warnings, field(AnnotationTLSSkipVerify)+": the store's certificate is not verified; anyone on the path can read the pod's token and secrets")
	}
	boolean(AnnotationIgnoreMissingSecrets, &s.IgnoreMissing)
	boolean(AnnotationMutateProbes, &s.MutateProbes)
	boolean(AnnotationEnableJSONLog, &s.JSONLog)
	if v, ok := get(AnnotationEnvFromPath); ok {
		paths, err := parseEnvFromPath(v)
		if err != nil {
			bad(AnnotationEnvFromPath, err)
		}
		s.EnvFromPath = paths
	}
	if v, ok := get(AnnotationClientTimeout); ok {
		d, err := parseClientTimeout(v)
		if err != nil {
			bad(AnnotationClientTimeout, err)
		}
		s.ClientTimeout = d
	}
	if v, ok := get(AnnotationEnvInjectorPullPolicy); ok {
		if !slices.Contains([]string{"Always", "IfNotPresent", "Never"}, v) {
			bad(AnnotationEnvInjectorPullPolicy, fmt.Errorf("%q is not one of Always, IfNotPresent, Never", v))
		}
		s.PullPolicy = v
	}
	if v, ok := get(AnnotationLogLevel); ok {
		if err := checkLogLevel(v); err != nil {
			bad(AnnotationLogLevel, err)
		}
		s.LogLevel = v
	}
	if v, ok := get(AnnotationSkipMutateContainers); ok {
		// The existing module's webhook splits on spaces, ours on commas;
		// container names hold neither, so both separators are taken.
		s.SkipContainers = append(s.SkipContainers, strings.FieldsFunc(v, func(r rune) bool {
			return r == ',' || unicode.IsSpace(r)
		})...)
	}
	if v, ok := get(AnnotationServiceAccountTokenPath); ok {
		if !path.IsAbs(v) || path.Clean(v) != v {
			bad(AnnotationServiceAccountTokenPath, fmt.Errorf("%q is not a clean absolute path", v))
		}
		s.TokenPath, s.TokenPathSet = v, true
	}
	if v, ok := get(AnnotationRestartOnSecretChange); ok {
		if err := checkRestart(v); err != nil {
			bad(AnnotationRestartOnSecretChange, err)
		}
		s.Restart = v
	}
	if v, ok := get(AnnotationSecretPollInterval); ok {
		d, err := parsePollInterval(v)
		if err != nil {
			bad(AnnotationSecretPollInterval, err)
		}
		s.PollInterval = d
		if s.Restart != RestartWatchForData {
			warnings = append(warnings, field(AnnotationSecretPollInterval)+": has no effect unless "+AnnotationPrefix+AnnotationRestartOnSecretChange+" is "+RestartWatchForData)
		}
	}
	return s, warnings, errors.Join(errs...)
}

// EnvVar is one variable of a container.
type EnvVar struct{ Name, Value string }

// Env returns the variables that carry c to the injector; unset optional
// settings are left out.
func (c Config) Env() []EnvVar {
	out := []EnvVar{{EnvAddr, c.Address}, {EnvRole, c.Role}, {EnvAuthPath, c.AuthPath}}
	add := func(name, value string) {
		if value != "" {
			out = append(out, EnvVar{name, value})
		}
	}
	add(EnvNamespace, c.Namespace)
	add(EnvCACert, c.CACertFile)
	add(EnvCACertPEM, c.CACertPEM)
	if c.SkipVerify {
		add(EnvSkipVerify, "true")
	}
	if len(c.EnvFromPath) > 0 {
		var ps []string
		for _, p := range c.EnvFromPath {
			ps = append(ps, p.String())
		}
		add(EnvFromPath, strings.Join(ps, ","))
	}
	if c.IgnoreMissing {
		add(EnvIgnoreMissing, "true")
	}
	add(EnvClientTimeout, c.ClientTimeout.String())
	add(EnvLogLevel, c.LogLevel)
	if c.JSONLog {
		add(EnvJSONLog, "true")
	}
	add(EnvTokenPath, c.TokenPath)
	add(EnvRestart, c.Restart)
	if c.Restart == RestartWatchForData {
		add(EnvPollInterval, c.PollInterval.String())
	}
	if c.Restart != RestartNone && c.GracePeriod > 0 {
		add(EnvGracePeriod, c.GracePeriod.String())
	}
	if c.TerminationLog != DefaultTerminationLog {
		add(EnvTerminationLog, c.TerminationLog)
	}
	return out
}

// FromEnv reads the injector's configuration from its environment.
func FromEnv(lookup func(string) (string, bool)) (Config, error) {
	c := Config{
		AuthPath: DefaultAuthPath, ClientTimeout: DefaultClientTimeout, LogLevel: DefaultLogLevel,
		TokenPath: DefaultTokenPath, Restart: RestartNone, PollInterval: DefaultPollInterval,
		GracePeriod: DefaultGracePeriod, TerminationLog: DefaultTerminationLog,
	}
	var errs []error
	bad := func(name string, err error) { errs = append(errs, &FieldError{Field: "variable " + name, Err: err}) }
	str := func(name string, dst *string) {
		if v, ok := lookup(name); ok && v != "" {
			*dst = v
		}
	}
	str(EnvAddr, &c.Address)
	str(EnvRole, &c.Role)
	str(EnvAuthPath, &c.AuthPath)
	str(EnvNamespace, &c.Namespace)
	str(EnvCACert, &c.CACertFile)
	str(EnvCACertPEM, &c.CACertPEM)
	str(EnvTokenPath, &c.TokenPath)
	str(EnvTerminationLog, &c.TerminationLog)
	if _, err := checkAddress(c.Address); err != nil {
		bad(EnvAddr, err)
	}
	if c.Role == "" {
		bad(EnvRole, errors.New("empty role"))
	}
	c.AuthPath = strings.Trim(c.AuthPath, "/")
	if err := checkAuthPath(c.AuthPath); err != nil {
		bad(EnvAuthPath, err)
	}
	boolean := func(name string, dst *bool) {
		if v, ok := lookup(name); ok && v != "" {
			b, err := parseBool(v)
			if err != nil {
				bad(name, err)
			}
			*dst = b
		}
	}
	boolean(EnvSkipVerify, &c.SkipVerify)
	boolean(EnvIgnoreMissing, &c.IgnoreMissing)
	boolean(EnvJSONLog, &c.JSONLog)
	if v, ok := lookup(EnvFromPath); ok && v != "" {
		paths, err := parseEnvFromPath(v)
		if err != nil {
			bad(EnvFromPath, err)
		}
		c.EnvFromPath = paths
	}
	if v, ok := lookup(EnvClientTimeout); ok && v != "" {
		d, err := parseClientTimeout(v)
		if err != nil {
			bad(EnvClientTimeout, err)
		}
		c.ClientTimeout = d
	}
	if v, ok := lookup(EnvLogLevel); ok && v != "" {
		if err := checkLogLevel(v); err != nil {
			bad(EnvLogLevel, err)
		}
		c.LogLevel = v
	}
	if v, ok := lookup(EnvRestart); ok && v != "" {
		if err := checkRestart(v); err != nil {
			bad(EnvRestart, err)
		}
		c.Restart = v
	}
	if v, ok := lookup(EnvPollInterval); ok && v != "" {
		d, err := parsePollInterval(v)
		if err != nil {
			bad(EnvPollInterval, err)
		}
		c.PollInterval = d
	}
	if v, ok := lookup(EnvGracePeriod); ok && v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			bad(EnvGracePeriod, fmt.Errorf("%q is not a duration such as 30s", v))
		}
		c.GracePeriod = d
	}
	return c, errors.Join(errs...)
}

// StoreConfig is where and how the injector reaches the store.
func (c Config) StoreConfig() store.Config {
	return store.Config{
		Address: c.Address, Namespace: c.Namespace,
		TLS: store.TLS{CACertPath: c.CACertFile, CACertPEM: c.CACertPEM, SkipVerify: c.SkipVerify},
	}
}

// checkAddress accepts https (and, with a warning, http) URLs with a host.
func checkAddress(v string) (warning string, err error) {
	if v == "" {
		return "", errors.New("no store address")
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("%q is not an https:// URL of the store", v)
	}
	if u.Scheme == "http" {
		return "plain http: the pod's token and its secrets cross the network unencrypted", nil
	}
	return "", nil
}

func checkAuthPath(v string) error {
	if v == "" || strings.Contains("/"+v+"/", "/../") || strings.ContainsAny(v, " ?#") {
		return fmt.Errorf("%q is not an auth method path such as kubernetes", v)
	}
	return nil
}

// checkName accepts a DNS-1123 subdomain, the form of a Secret's name.
func checkName(v string) error {
	if v == "" || len(v) > 253 {
		return fmt.Errorf("%q is not a Secret name", v)
	}
	for i, r := range v {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || (r == '-' || r == '.') && i > 0 && i < len(v)-1
		if !ok {
			return fmt.Errorf("%q is not a Secret name (lower-case letters, digits, '-' and '.')", v)
		}
	}
	return nil
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

func parseClientTimeout(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > maxClientTimeout {
		return DefaultClientTimeout, fmt.Errorf("%q is not a duration between 0s and %s, such as 10s", v, maxClientTimeout)
	}
	return d, nil
}

func parsePollInterval(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < minPollInterval {
		return DefaultPollInterval, fmt.Errorf("%q is not a duration of at least %s, such as 5m", v, minPollInterval)
	}
	return d, nil
}

func checkLogLevel(v string) error {
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, v) {
		return fmt.Errorf("%q is not one of debug, info, warn, error", v)
	}
	return nil
}

func checkRestart(v string) error {
	if !slices.Contains([]string{RestartNone, RestartWatchForLease, RestartWatchForData}, v) {
		return fmt.Errorf("%q is not one of %s, %s, %s", v, RestartNone, RestartWatchForLease, RestartWatchForData)
	}
	return nil
}

// Where the webhook puts things in a mutated pod.
const (
	// InjectorDir is the memory-backed emptyDir the init container copies
	// the injector into; InjectorPath is the copy every container starts.
	InjectorDir  = "/secrets-store/bin"
	InjectorPath = InjectorDir + "/env-injector"
	// TokenDir holds the projected service-account token with the store's
	// audience; TokenPath is the file.
	TokenDir  = "/var/run/secrets/secrets-store"
	TokenPath = TokenDir + "/token"
	// TLSDir holds the tls-secret's files; CACertPath is its CA bundle.
	TLSDir     = "/secrets-store/tls"
	CACertPath = TLSDir + "/ca.crt"
	// SelfCopyFlag makes the injector copy itself into a folder and exit.
	SelfCopyFlag = "--self-copy"
	// ProbeFlag, before "--", marks an exec probe's run (mutate-probes):
	// the injector runs the probe command as its child and revokes its
	// store token, and with it every lease it read, when the probe ends.
	// A probe runs every few seconds; a lease kept per run would pile up
	// in the store for its whole TTL.
	ProbeFlag = "--probe"
)
