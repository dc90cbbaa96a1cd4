// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package testenv

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"
)

// RunVaultScript performs the vault CLI commands of a setup script from the
// docs (docs/examples/*/vault-setup.sh) against the environment's Vault, so
// that a documented setup is the one the tests use. It knows the commands
// those scripts use and fails on any other; the auth method and its config
// are testenv's own (pointed at this kube-apiserver) and are skipped.
func (e *Env) RunVaultScript(ctx context.Context, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	cmds, err := scriptCommands(string(data))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, c := range cmds {
		if err := e.runVaultCommand(ctx, c); err != nil {
			return fmt.Errorf("%s: command %q: %w", path, c.line, err)
		}
	}
	return nil
}

func (e *Env) runVaultCommand(ctx context.Context, c scriptCommand) error {
	args := c.args
	if args[0] == "set" {
		return nil
	}
	if args[0] != "vault" || len(args) < 3 {
		return fmt.Errorf("not a vault command the tests know")
	}
	switch sub := args[1] + " " + args[2]; {
	case sub == "auth enable", strings.HasPrefix(sub, "write auth/kubernetes/config"):
		return nil // testenv's Vault has it, pointed at the test kube-apiserver
	case sub == "secrets enable":
		flags, rest := cliFlags(args[3:])
		if len(rest) != 1 {
			return fmt.Errorf("want one engine type, got %q", rest)
		}
		mount := flags["path"]
		if mount == "" {
			mount = rest[0]
		}
		in := &vault.MountInput{Type: rest[0]}
		if ver := flags["version"]; ver != "" {
			in.Options = map[string]string{"version": ver}
		}
		mounts, err := e.Vault.Sys().ListMountsWithContext(ctx)
		if err != nil {
			return err
		}
		if _, ok := mounts[mount+"/"]; ok {
			return nil // "skip if it exists"
		}
		return e.Vault.Sys().MountWithContext(ctx, mount, in)
	case sub == "secrets tune":
		flags, rest := cliFlags(args[3:])
		if len(rest) != 1 {
			return fmt.Errorf("want one mount, got %q", rest)
		}
		return e.Vault.Sys().TuneMountWithContext(ctx, rest[0], vault.MountConfigInput{MaxLeaseTTL: flags["max-lease-ttl"]})
	case sub == "kv put":
		flags, rest := cliFlags(args[3:])
		if len(rest) == 0 {
			return fmt.Errorf("no path")
		}
		kv, err := keyValues(rest[1:])
		if err != nil {
			return err
		}
		_, err = e.Vault.KVv2(flags["mount"]).Put(ctx, rest[0], kv)
		return err
	case sub == "policy write":
		if len(args) != 5 || args[4] != "-" {
			return fmt.Errorf("want the policy from a here-document (vault policy write NAME -)")
		}
		return e.WritePolicy(ctx, args[3], c.stdin)
	case args[1] == "write" && strings.HasPrefix(args[2], "auth/kubernetes/role/"):
		kv, err := keyValues(args[3:])
		if err != nil {
			return err
		}
		if len(kv) != 5 {
			return fmt.Errorf("role parameters the tests do not know: %v", kv)
		}
		ttl, err := time.ParseDuration(fmt.Sprint(kv["token_ttl"]))
		if err != nil {
			return fmt.Errorf("token_ttl: %w", err)
		}
		return e.WriteKubernetesRole(ctx, strings.TrimPrefix(args[2], "auth/kubernetes/role/"), KubernetesRole{
			ServiceAccounts: strings.Split(fmt.Sprint(kv["bound_service_account_names"]), ","),
			Namespaces:      strings.Split(fmt.Sprint(kv["bound_service_account_namespaces"]), ","),
			Policies:        strings.Split(fmt.Sprint(kv["token_policies"]), ","),
			Audience:        fmt.Sprint(kv["audience"]),
			TTL:             ttl,
		})
	case args[1] == "write":
		kv, err := keyValues(args[3:])
		if err != nil {
			return err
		}
		_, err = e.Vault.Logical().WriteWithContext(ctx, args[2], kv)
		return err
	default:
		return fmt.Errorf("not a vault command the tests know")
	}
}

type scriptCommand struct {
	line  string
	args  []string
	stdin string // of a here-document
}

// scriptCommands splits a simple shell script into commands: comments and
// blank lines dropped, backslash continuations joined, single and double
// quotes removed, a here-document (<<'EOF') attached to its command.
func scriptCommands(script string) ([]scriptCommand, error) {
	var out []scriptCommand
	lines := strings.Split(script, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, "\\") + " " + strings.TrimSpace(lines[i])
		}
		c := scriptCommand{line: line}
		words, err := shellWords(line)
		if err != nil {
			return nil, err
		}
		for _, word := range words {
			if delim, ok := strings.CutPrefix(word, "<<"); ok {
				var body []string
				for i++; i < len(lines) && lines[i] != delim; i++ {
					body = append(body, lines[i])
				}
				c.stdin = strings.Join(body, "\n") + "\n"
				continue
			}
			c.args = append(c.args, word)
		}
		out = append(out, c)
	}
	return out, nil
}

// shellWords splits a line into words as sh does for plain words and
// quoted strings (no expansions: the scripts have none).
func shellWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case r == '$' || r == '`':
			return nil, fmt.Errorf("the example script must not use expansions: %s", line)
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in %q", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// cliFlags separates -name=value flags from the other arguments.
func cliFlags(args []string) (map[string]string, []string) {
	flags := map[string]string{}
	var rest []string
	for _, a := range args {
		if name, ok := strings.CutPrefix(a, "-"); ok {
			k, v, _ := strings.Cut(name, "=")
			flags[k] = v
			continue
		}
		rest = append(rest, a)
	}
	return flags, rest
}

// keyValues reads key=value arguments.
func keyValues(args []string) (map[string]any, error) {
	kv := map[string]any{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			return nil, fmt.Errorf("argument %q is not key=value", a)
		}
		kv[k] = v
	}
	return kv, nil
}
