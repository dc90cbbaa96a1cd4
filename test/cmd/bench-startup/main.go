// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Command bench-startup measures what one container start costs with
// entrypoint injection: the store requests of one start (counted through a
// proxy in front of the real Vault: exact, whatever the machine's load), the
// TLS connections, the tokens a start leaves alive, the wall time and the
// peak RSS of the process, and the size of the stripped binary. With -other
// it runs the existing module's injector (github.com/deckhouse/
// secrets-store-integration, images/env-injector, built as its image does)
// on the same Vault, start for start in turn with ours, so that both see the
// same machine.
//
//	go run ./cmd/bench-startup -starts 100 -refs 1,10 -other /tmp/existing-injector -out bench.md -json bench.json
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/deckhouse/secrets-store-integration/test/bench"
	"github.com/deckhouse/secrets-store-integration/test/components"
	"github.com/deckhouse/secrets-store-integration/test/storeproxy"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

const (
	namespace = "bench"
	account   = "app"
	role      = "bench-start"
)

type options struct {
	starts int
	refs   []int
	other  string
	hold   bool
}

func main() {
	var o options
	cmd := bench.NewCommand("bench-startup", 20*time.Minute)
	cmd.JSON()
	refs := bench.Counts("refs", "1,10", "comma-separated numbers of references per container, one row each")
	flag.IntVar(&o.starts, "starts", 100, "timed starts of each injector per row")
	flag.StringVar(&o.other, "other", "", "the existing module's env-injector binary, to run start for start with ours")
	flag.BoolVar(&o.hold, "hold", false, "after the rows, keep Vault up and print each injector's environment file, for timing with other tools, until interrupted (the report follows)")
	flag.Parse()
	o.refs = *refs
	if o.starts < 1 {
		bench.Usage("-starts must be at least 1")
	}
	cmd.Run(func(ctx context.Context) (string, error) { return run(ctx, cmd, o) })
}

// injector is one binary under test and how a container starts it.
type injector struct {
	name string
	bin  string
	// env is the container's environment with n references.
	env func(n int) []string
	// args start the application (/bin/true) through the injector.
	args []string
}

// Row is one injector with a number of references.
type Row struct {
	Injector   string   `json:"injector"`
	References int      `json:"references"`
	Starts     int      `json:"starts"`
	Requests   []string `json:"store_requests_of_one_start"`
	// RequestsPerStart and ConnectionsPerStart are counted over one start.
	RequestsPerStart    int     `json:"store_requests_per_start"`
	ConnectionsPerStart int     `json:"tls_connections_per_start"`
	TokensLeftPerStart  float64 `json:"store_tokens_left_per_start"`
	P50Ms               float64 `json:"p50_ms"`
	P99Ms               float64 `json:"p99_ms"`
	MaxMs               float64 `json:"max_ms"`
	// PeakRSSMiB* are of rssStarts more starts under GNU time.
	PeakRSSMiBMedian float64 `json:"peak_rss_mib_median"`
	PeakRSSMiBMax    float64 `json:"peak_rss_mib_max"`
}

// Result is what -json writes.
type Result struct {
	bench.RunInfo
	BinaryBytes map[string]int64 `json:"binary_bytes"`
	FloorP50Ms  float64          `json:"true_alone_p50_ms"`
	// FloorRSSMiB is the peak RSS of /bin/true alone under GNU time.
	FloorRSSMiB float64 `json:"true_alone_peak_rss_mib"`
	Rows        []Row   `json:"rows"`
}

func run(ctx context.Context, cmd *bench.Command, o options) (report string, err error) {
	res := Result{BinaryBytes: map[string]int64{}}
	h, err := bench.Start(ctx, "startup")
	if err != nil {
		return "", err
	}
	defer func() { err = errors.Join(err, h.Close()) }()
	env, dir := h.Env, h.Work
	// Stripped, as its image builds it: what every mutated pod copies.
	ours := filepath.Join(dir, "env-injector-stripped")
	if err := components.BuildStrippedInjector(ctx, ours); err != nil {
		return "", err
	}
	if res.BinaryBytes["ours"], err = fileSize(ours); err != nil {
		return "", err
	}
	maxRefs := slices.Max(o.refs)
	tokenFile, caFile, err := prepare(ctx, env, dir, maxRefs)
	if err != nil {
		return "", err
	}
	trueBin, err := exec.LookPath("true")
	if err != nil {
		return "", err
	}
	proxy, err := storeproxy.Start(env.VaultAddr, env.VaultCAPEM)
	if err != nil {
		return "", err
	}
	defer proxy.Close()
	proxyCA := filepath.Join(dir, "proxy-ca.pem")
	if err := os.WriteFile(proxyCA, proxy.CAPEM(), 0o600); err != nil {
		return "", err
	}

	injectors := []injector{{
		name: "ours", bin: ours, args: []string{"--", trueBin},
		env: func(n int) []string { return ourEnv(env.VaultAddr, caFile, tokenFile, n) },
	}}
	if o.other != "" {
		if res.BinaryBytes["existing"], err = fileSize(o.other); err != nil {
			return "", fmt.Errorf("-other: %w", err)
		}
		injectors = append(injectors, injector{
			name: "existing", bin: o.other, args: []string{trueBin},
			env: func(n int) []string { return existingEnv(env.VaultAddr, caFile, tokenFile, n) },
		})
	}

	floor, err := timeStarts(ctx, o.starts, []injector{{name: "true", bin: trueBin, env: func(int) []string { return nil }}}, 0)
	if err != nil {
		return "", err
	}
	res.FloorP50Ms, res.FloorRSSMiB = floor[0].P50Ms, floor[0].PeakRSSMiBMedian
	for _, n := range o.refs {
		rows, err := timeStarts(ctx, o.starts, injectors, n)
		if err != nil {
			return "", err
		}
		for i := range rows {
			in := injectors[i]
			// One more start of each through the counting proxy.
			environ := retarget(in.env(n), env.VaultAddr, proxy.URL(), caFile, proxyCA)
			proxy.Take()
			before, err := env.LiveTokens(ctx, role)
			if err != nil {
				return "", err
			}
			if out, err := command(in, environ).CombinedOutput(); err != nil {
				return "", fmt.Errorf("%s through the proxy: %w: %s", in.name, err, out)
			}
			after, err := env.LiveTokens(ctx, role)
			if err != nil {
				return "", err
			}
			rows[i].Requests, rows[i].ConnectionsPerStart = proxy.Take()
			rows[i].RequestsPerStart = len(rows[i].Requests)
			rows[i].TokensLeftPerStart = float64(after - before)
		}
		res.Rows = append(res.Rows, rows...)
	}
	res.RunInfo = cmd.Info()
	if err := cmd.WriteJSON(res); err != nil {
		return "", err
	}
	report = markdown(cmd, res)
	if o.hold {
		err = hold(ctx, dir, injectors, o.refs[0])
	}
	return report, err
}

// timeStarts starts each injector in turn, starts times over, and returns a
// row per injector: taking turns start by start puts both under the same
// load.
func timeStarts(ctx context.Context, starts int, injectors []injector, refs int) ([]Row, error) {
	lat := make([][]time.Duration, len(injectors))
	for s := range starts {
		for i, in := range injectors {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			cmd := command(in, in.env(refs))
			began := time.Now()
			out, err := cmd.CombinedOutput()
			took := time.Since(began)
			if err != nil {
				return nil, fmt.Errorf("%s start %d: %w: %s", in.name, s, err, out)
			}
			lat[i] = append(lat[i], took)
		}
	}
	rows := make([]Row, len(injectors))
	for i, in := range injectors {
		slices.Sort(lat[i])
		rows[i] = Row{Injector: in.name, References: refs, Starts: starts,
			P50Ms: bench.Millis(bench.Percentile(lat[i], .5)), P99Ms: bench.Millis(bench.Percentile(lat[i], .99)), MaxMs: bench.Millis(lat[i][len(lat[i])-1])}
		var err error
		if rows[i].PeakRSSMiBMedian, rows[i].PeakRSSMiBMax, err = peakRSS(ctx, in, in.env(refs)); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// rssStarts is how many starts of each row measure the peak RSS.
const rssStarts = 5

// peakRSS returns the median and the largest peak RSS of rssStarts starts,
// as GNU time reports it. Not from this process's own wait: Go starts a
// child sharing the parent's memory until exec, so the child's peak would
// be at least this process's.
func peakRSS(ctx context.Context, in injector, environ []string) (median, largest float64, err error) {
	out, err := os.CreateTemp("", "bench-startup-rss-*")
	if err != nil {
		return 0, 0, err
	}
	out.Close()
	defer os.Remove(out.Name())
	var peaks []float64
	for range rssStarts {
		cmd := exec.CommandContext(ctx, "/usr/bin/time", append([]string{"-o", out.Name(), "-f", "%M", in.bin}, in.args...)...)
		cmd.Env = environ
		if b, err := cmd.CombinedOutput(); err != nil {
			return 0, 0, fmt.Errorf("%s under /usr/bin/time: %w: %s", in.name, err, b)
		}
		b, err := os.ReadFile(out.Name())
		if err != nil {
			return 0, 0, err
		}
		kib, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/usr/bin/time wrote %q: %w", b, err)
		}
		peaks = append(peaks, kib/1024)
	}
	slices.Sort(peaks)
	return peaks[len(peaks)/2], peaks[len(peaks)-1], nil
}

func command(in injector, environ []string) *exec.Cmd {
	cmd := exec.Command(in.bin, in.args...)
	cmd.Env = environ
	return cmd
}

// ourEnv is what our webhook gives a container with n references.
func ourEnv(addr, caFile, tokenFile string, n int) []string {
	out := []string{"PATH=/usr/bin:/bin", "VAULT_ADDR=" + addr, "VAULT_ROLE=" + role, "VAULT_AUTH_PATH=kubernetes",
		"VAULT_CACERT=" + caFile, "VAULT_SA_TOKEN_PATH=" + tokenFile, "VAULT_LOG_LEVEL=warn"}
	return append(out, references(n)...)
}

// existingEnv is what the existing module's webhook gives a container: its
// variable names for the same settings.
func existingEnv(addr, caFile, tokenFile string, n int) []string {
	out := []string{"PATH=/usr/bin:/bin", "VAULT_ADDR=" + addr, "VAULT_ROLE=" + role, "VAULT_PATH=kubernetes",
		"VAULT_CACERT=" + caFile, "VAULT_JWT_FILE=" + tokenFile, "VAULT_LOG_LEVEL=warn"}
	return append(out, references(n)...)
}

func references(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("SECRET_%02d=secrets-store:secret/data/bench-start/s%02d#value", i, i))
	}
	return out
}

// retarget points an environment at the proxy.
func retarget(environ []string, addr, proxyAddr, caFile, proxyCA string) []string {
	out := slices.Clone(environ)
	for i, kv := range out {
		switch kv {
		case "VAULT_ADDR=" + addr:
			out[i] = "VAULT_ADDR=" + proxyAddr
		case "VAULT_CACERT=" + caFile:
			out[i] = "VAULT_CACERT=" + proxyCA
		}
	}
	return out
}

// prepare writes one secret per reference, a role for the service account,
// its token file and Vault's CA file.
func prepare(ctx context.Context, env *testenv.Env, dir string, refs int) (tokenFile, caFile string, err error) {
	if _, err := env.CreateServiceAccount(ctx, namespace, account); err != nil {
		return "", "", err
	}
	if err := env.GrantRead(ctx, testenv.ReadGrant{
		Role: role, Policy: role, Path: "secret/data/bench-start/*",
		Namespace: namespace, ServiceAccounts: []string{account}, TTL: time.Hour,
	}); err != nil {
		return "", "", err
	}
	for i := range refs {
		if _, err := env.Vault.KVv2(testenv.KVMount).Put(ctx, fmt.Sprintf("bench-start/s%02d", i), map[string]any{"value": fmt.Sprintf("value-%d", i)}); err != nil {
			return "", "", err
		}
	}
	jwt, err := env.ServiceAccountToken(ctx, namespace, account, "vault", time.Hour)
	if err != nil {
		return "", "", err
	}
	tokenFile = filepath.Join(dir, "token")
	caFile = filepath.Join(dir, "vault-ca.pem")
	return tokenFile, caFile, errors.Join(os.WriteFile(tokenFile, []byte(jwt), 0o600), os.WriteFile(caFile, env.VaultCAPEM, 0o600))
}

func fileSize(path string) (int64, error) {
	info, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return info.Size(), nil
}

func markdown(cmd *bench.Command, r Result) string {
	var b strings.Builder
	what := "the env injector's start-up"
	if len(r.BinaryBytes) > 1 {
		what += " next to the existing module's"
	}
	b.WriteString(cmd.Header(what))
	fmt.Fprintf(&b, "`/bin/true` alone: p50 %.1f ms, peak RSS %.1f MiB (the floor of GNU time)\n\n", r.FloorP50Ms, r.FloorRSSMiB)
	names := slices.Collect(func(yield func(string) bool) {
		for k := range r.BinaryBytes {
			if !yield(k) {
				return
			}
		}
	})
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(&b, "- %s injector: %d bytes (%.2f MB) static and stripped\n", k, r.BinaryBytes[k], float64(r.BinaryBytes[k])/1e6)
	}
	fmt.Fprintln(&b)
	fmt.Fprintln(&b, "| injector | references | store requests per start | TLS connections | tokens left alive | starts | p50 ms | p99 ms | max ms | peak RSS MiB median / max |")
	fmt.Fprintln(&b, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	rows := slices.Clone(r.Rows)
	slices.SortStableFunc(rows, func(a, b Row) int { return cmp.Compare(a.References, b.References) })
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %.0f | %d | %.1f | %.1f | %.1f | %.1f / %.1f |\n", row.Injector, row.References,
			row.RequestsPerStart, row.ConnectionsPerStart, row.TokensLeftPerStart, row.Starts, row.P50Ms, row.P99Ms, row.MaxMs,
			row.PeakRSSMiBMedian, row.PeakRSSMiBMax)
	}
	fmt.Fprintln(&b)
	for _, row := range rows {
		fmt.Fprintf(&b, "- %s, %d reference(s): %s\n", row.Injector, row.References, strings.Join(row.Requests, ", "))
	}
	return b.String()
}

// hold writes each injector's environment and command line to dir and waits
// until interrupted (or -timeout), so that the starts can be timed from
// outside.
func hold(ctx context.Context, dir string, injectors []injector, refs int) error {
	for _, in := range injectors {
		envFile := filepath.Join(dir, in.name+".env")
		if err := os.WriteFile(envFile, []byte(strings.Join(in.env(refs), "\n")+"\n"), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "%s: env -i $(cat %s) %s %s\n", in.name, envFile, in.bin, strings.Join(in.args, " "))
	}
	bench.Step("holding Vault up; interrupt to stop and print the report")
	<-ctx.Done()
	return nil
}
