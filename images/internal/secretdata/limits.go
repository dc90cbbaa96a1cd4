// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package secretdata

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// A template is written by a tenant and runs in a process every tenant of
// the node or cluster shares (the provider, the controller) or in the
// tenant's own pod (the injector): it must not make that process allocate
// without bound, spin, or reach out of the secret's data.

// removed are the Sprig functions a template may not call, and why. A
// template naming one fails to parse with the reason.
var removed = map[string]string{
	"env":                      "it reads the environment of the process that renders the template",
	"expandenv":                "it reads the environment of the process that renders the template",
	"getHostByName":            "it sends DNS queries from the node",
	"repeat":                   "it allocates as much as its argument asks",
	"until":                    "it allocates as much as its argument asks",
	"untilStep":                "it allocates as much as its arguments ask",
	"seq":                      "it allocates as much as its arguments ask",
	"randAlphaNum":             "it allocates as much as its argument asks",
	"randAlpha":                "it allocates as much as its argument asks",
	"randAscii":                "it allocates as much as its argument asks",
	"randNumeric":              "it allocates as much as its argument asks",
	"randBytes":                "it allocates as much as its argument asks",
	"genPrivateKey":            "key generation costs seconds of CPU per call",
	"buildCustomCert":          "certificate generation costs CPU per call",
	"genCA":                    "key generation costs seconds of CPU per call",
	"genCAWithKey":             "certificate generation costs CPU per call",
	"genSelfSignedCert":        "key generation costs seconds of CPU per call",
	"genSelfSignedCertWithKey": "certificate generation costs CPU per call",
	"genSignedCert":            "key generation costs seconds of CPU per call",
	"genSignedCertWithKey":     "certificate generation costs CPU per call",
	"derivePassword":           "it runs scrypt, 32 MiB of memory per call",
}

// Bounds of one execution.
const (
	// RenderTimeout is how long one template may run.
	RenderTimeout = 2 * time.Second
	// maxSteps bounds the iterations of range loops and template calls
	// of one execution.
	maxSteps = 100_000
	// maxIndent and maxVerbWidth bound the padding a call may ask for.
	maxIndent    = 1024
	maxVerbWidth = 1024
	// DefaultMaxBytes bounds the output of one execution, and any value a
	// function returns, when the caller gives no limit.
	DefaultMaxBytes = 1 << 20
)

// LimitError is a template stopped for exceeding a bound: output size,
// value size, steps or time.
type LimitError struct{ msg string }

func (e *LimitError) Error() string { return e.msg }

func limitf(format string, args ...any) *LimitError {
	return &LimitError{msg: fmt.Sprintf(format, args...)}
}

// run is the state of one execution; the functions of a parsed template
// are bound to it.
type run struct {
	ctx      context.Context
	maxBytes int64
	steps    int
	err      error // the first bound hit; it wins over text/template's wording
}

func (r *run) fail(err error) error {
	if r.err == nil {
		r.err = err
	}
	return r.err
}

// tick is called at the start of every range iteration and template body.
func (r *run) tick() (string, error) {
	r.steps++
	if r.steps > maxSteps {
		return "", r.fail(limitf("template ran more than %d loop iterations", maxSteps))
	}
	if err := r.ctx.Err(); err != nil {
		return "", r.fail(limitf("template did not finish in time: %v", context.Cause(r.ctx)))
	}
	return "", nil
}

// tickName is the function the parse tree calls at each step; users cannot
// name it (it is not an identifier a template may use).
const tickName = "secretsStoreTick_"

// boundedWriter stops the execution as soon as the output passes max
// bytes, instead of rendering everything and checking afterwards.
type boundedWriter struct {
	r   *run
	buf []byte
}

func (w *boundedWriter) Write(p []byte) (int, error) {
	if int64(len(w.buf)+len(p)) > w.r.maxBytes {
		return 0, w.r.fail(limitf("template output exceeds %d bytes", w.r.maxBytes))
	}
	if err := w.r.ctx.Err(); err != nil {
		return 0, w.r.fail(limitf("template did not finish in time: %v", context.Cause(w.r.ctx)))
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// funcsFor returns the functions of a template bound to r: Sprig without
// the removed ones, each checked for the size of what it returns, and
// guarded versions of those whose arguments ask for padding or products.
func funcsFor(r *run) template.FuncMap {
	m := template.FuncMap{}
	for name, fn := range baseFuncs {
		m[name] = sized(r, name, fn)
	}
	m["indent"] = func(spaces int, v string) (string, error) {
		if spaces > maxIndent {
			return "", r.fail(limitf("indent of %d spaces: at most %d", spaces, maxIndent))
		}
		return indentBy(spaces, v, ""), nil
	}
	m["nindent"] = func(spaces int, v string) (string, error) {
		if spaces > maxIndent {
			return "", r.fail(limitf("nindent of %d spaces: at most %d", spaces, maxIndent))
		}
		return indentBy(spaces, v, "\n"), nil
	}
	m["replace"] = func(old, new, src string) (string, error) {
		if err := r.checkProduct("replace", len(src), len(old), len(new)); err != nil {
			return "", err
		}
		return strings.ReplaceAll(src, old, new), nil
	}
	for _, name := range []string{"regexReplaceAll", "regexReplaceAllLiteral", "mustRegexReplaceAll", "mustRegexReplaceAllLiteral"} {
		literal := strings.HasSuffix(name, "Literal")
		m[name] = func(regex, s, repl string) (string, error) {
			re, err := regexp.Compile(regex)
			if err != nil {
				return "", err
			}
			// Every match may be replaced, the empty ones too.
			if err := r.checkProduct(name, len(s), 0, len(repl)); err != nil {
				return "", err
			}
			if literal {
				return re.ReplaceAllLiteralString(s, repl), nil
			}
			return re.ReplaceAllString(s, repl), nil
		}
	}
	m["printf"] = func(format string, args ...any) (string, error) {
		if err := checkVerbs(format); err != nil {
			return "", r.fail(err)
		}
		return fmt.Sprintf(format, args...), nil
	}
	m[tickName] = r.tick
	return m
}

func indentBy(spaces int, v, lead string) string {
	pad := strings.Repeat(" ", max(spaces, 0))
	return lead + pad + strings.ReplaceAll(v, "\n", "\n"+pad)
}

// checkProduct refuses a replacement whose worst case (every occurrence of
// old, or every position when old is empty, replaced) passes the limit.
func (r *run) checkProduct(name string, src, old, repl int) error {
	matches := int64(src) + 1
	if old > 0 {
		matches = int64(src / old)
	}
	if int64(src)+matches*int64(repl) > r.maxBytes {
		return r.fail(limitf("%s could make a value of more than %d bytes", name, r.maxBytes))
	}
	return nil
}

// verbPad finds widths and precisions in a format: %0999999d would pad to
// that many bytes.
var verbPad = regexp.MustCompile(`%[-+# 0]*(\*|\d+)?(\.(\*|\d+))?`)

func checkVerbs(format string) error {
	for _, m := range verbPad.FindAllStringSubmatch(format, -1) {
		for _, n := range []string{m[1], m[3]} {
			if n == "*" {
				return limitf("printf: a width or precision from an argument (*) is not allowed")
			}
			if len(n) > 4 || (n != "" && atoi(n) > maxVerbWidth) {
				return limitf("printf: width or precision %s is more than %d", n, maxVerbWidth)
			}
		}
	}
	return nil
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

var errorType = reflect.TypeFor[error]()

// sized wraps fn so that a string, byte slice, slice or map it returns
// larger than the limit stops the execution: a loop that doubles a value
// ($x = cat $x $x) would otherwise take all memory without writing a byte.
func sized(r *run, name string, fn any) any {
	v := reflect.ValueOf(fn)
	t := v.Type()
	return reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		if r.err != nil {
			panic(r.err)
		}
		var out []reflect.Value
		if t.IsVariadic() {
			out = v.CallSlice(args)
		} else {
			out = v.Call(args)
		}
		if len(out) > 0 && t.Out(0) != errorType {
			if n := sizeOf(out[0]); n > r.maxBytes {
				// text/template turns the panic into "error calling
				// name"; Execute reports r.err.
				panic(r.fail(limitf("%s returned a value of %d bytes or items, more than %d", name, n, r.maxBytes)))
			}
		}
		return out
	}).Interface()
}

func sizeOf(v reflect.Value) int64 {
	for v.Kind() == reflect.Interface && !v.IsNil() {
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Array:
		return int64(v.Len())
	}
	return 0
}

// baseFuncs is Sprig without the removed functions.
var baseFuncs = func() template.FuncMap {
	m := funcMap
	out := template.FuncMap{}
	for k, v := range m {
		if _, gone := removed[k]; !gone {
			out[k] = v
		}
	}
	return out
}()

// unsupported are the existing module's injector functions that are not
// here, and what to use instead: a template naming one fails to parse
// (at admission, for a pod) with that advice rather than "not defined".
var unsupported = map[string]string{
	"file": "there it pastes a file of the application's container with newlines as \\n; " +
		"templates here see only the secret's data and read no files: " +
		"put the file's content in the store and reference it, or deliver files with a CSI volume (a SecretsStoreImport)",
	"accessor": "there it gives only the text __accessor__PATH, never a real mount accessor; " +
		"write that text literally if the application expects it, " +
		"or hand the store token to the application with secrets-store:login",
}

// notDefined matches text/template's parse error for an unknown function.
var notDefined = regexp.MustCompile(`function "([^"]+)" not defined`)

// explainRemoved rewords the parse error of a template that names a
// removed function.
func explainRemoved(err error) error {
	m := notDefined.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	if why, ok := removed[m[1]]; ok {
		return fmt.Errorf("function %q is not allowed: %s", m[1], why)
	}
	if instead, ok := unsupported[m[1]]; ok {
		return fmt.Errorf("function %q (of the existing module's injector) is not supported: %s", m[1], instead)
	}
	return err
}

// instrument puts a call of the tick function at the start of every range
// body and of every template, so that loops and recursion are counted and
// stop at the deadline even when they write nothing.
func instrument(t *template.Template, tick *parse.ActionNode) {
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.RangeNode:
			walk(n.List)
			walk(n.ElseList)
			if n.List != nil {
				n.List.Nodes = append([]parse.Node{tick}, n.List.Nodes...)
			}
		case *parse.IfNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.List)
			walk(n.ElseList)
		}
	}
	for _, tt := range t.Templates() {
		if tt.Tree == nil || tt.Tree.Root == nil {
			continue
		}
		walk(tt.Tree.Root)
		tt.Tree.Root.Nodes = append([]parse.Node{tick}, tt.Tree.Root.Nodes...)
	}
}

// tickNode is a parsed {{secretsStoreTick_}}, spliced into user templates.
var tickNode = func() *parse.ActionNode {
	t := template.Must(template.New("tick").Funcs(template.FuncMap{tickName: func() string { return "" }}).Parse("{{" + tickName + "}}"))
	return t.Tree.Root.Nodes[0].(*parse.ActionNode)
}()

// errIsLimit reports whether err is a bound that a template hit.
func errIsLimit(err error) bool {
	var le *LimitError
	return errors.As(err, &le)
}
