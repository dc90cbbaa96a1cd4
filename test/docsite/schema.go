// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package docsite builds the module's documentation site from docs/: it
// expands the <!-- SCHEMA --> placeholder of the reference pages from
// openapi/ and crds/, rewrites links for the site, and runs Hugo with the
// layout kept in this package.
package docsite

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Schema is the part of an OpenAPI v3 schema the reference shows. Properties
// keep the order of the file, so the page reads like the schema.
type Schema struct {
	Type                 string       `yaml:"type"`
	Format               string       `yaml:"format"`
	Description          string       `yaml:"description"`
	Default              any          `yaml:"default"`
	Enum                 []any        `yaml:"enum"`
	Pattern              string       `yaml:"pattern"`
	Examples             []any        `yaml:"x-examples"`
	Example              any          `yaml:"example"`
	Properties           Properties   `yaml:"properties"`
	Items                *Schema      `yaml:"items"`
	AdditionalProperties any          `yaml:"additionalProperties"`
	Required             []string     `yaml:"required"`
	Validations          []Validation `yaml:"x-kubernetes-validations"`
	Minimum              *float64     `yaml:"minimum"`
	Maximum              *float64     `yaml:"maximum"`
	MinLength            *int64       `yaml:"minLength"`
	MaxLength            *int64       `yaml:"maxLength"`
	MinItems             *int64       `yaml:"minItems"`
	MaxItems             *int64       `yaml:"maxItems"`
	IntOrString          bool         `yaml:"x-kubernetes-int-or-string"`
	PreserveUnknown      bool         `yaml:"x-kubernetes-preserve-unknown-fields"`
}

// Validation is one CEL rule of a CRD.
type Validation struct {
	Rule    string `yaml:"rule"`
	Message string `yaml:"message"`
}

// Property is one named property.
type Property struct {
	Name   string
	Schema *Schema
}

// Properties keeps the properties in the order of the file.
type Properties []Property

// UnmarshalYAML reads a mapping in order.
func (p *Properties) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: properties is not a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		s := &Schema{}
		if err := n.Content[i+1].Decode(s); err != nil {
			return fmt.Errorf("property %s: %w", n.Content[i].Value, err)
		}
		*p = append(*p, Property{Name: n.Content[i].Value, Schema: s})
	}
	return nil
}

func (p Properties) get(name string) *Schema {
	for _, q := range p {
		if q.Name == name {
			return q.Schema
		}
	}
	return nil
}

// Field is one property of a reference page: where it is shown (ID, the
// HTML id of its entry) and its description in each language.
type Field struct {
	Path        string
	ID          string
	Description map[string]string
}

// Reference is one schema of a reference page and its Russian twin.
type Reference struct {
	Title  string // the heading above the fields ("" for the settings)
	Prefix string // HTML id prefix of its fields
	EN, RU *Schema
	// Kind, group and version: set for a CRD version.
	Kind, Group, Version string
}

func readYAML(path string, into any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	return nil
}

// Settings reads the module's settings schema and its Russian descriptions.
func Settings(repo string) (Reference, error) {
	r := Reference{Prefix: "settings", EN: &Schema{}, RU: &Schema{}}
	if err := readYAML(filepath.Join(repo, "openapi", "config-values.yaml"), r.EN); err != nil {
		return r, fmt.Errorf("read the settings schema: %w", err)
	}
	if err := readYAML(filepath.Join(repo, "openapi", "doc-ru-config-values.yaml"), r.RU); err != nil {
		return r, fmt.Errorf("read the Russian settings descriptions: %w", err)
	}
	return r, nil
}

type crd struct {
	Spec struct {
		Group string `yaml:"group"`
		Names struct {
			Kind string `yaml:"kind"`
		} `yaml:"names"`
		Versions []struct {
			Name   string `yaml:"name"`
			Schema struct {
				OpenAPIV3Schema *Schema `yaml:"openAPIV3Schema"`
			} `yaml:"schema"`
		} `yaml:"versions"`
	} `yaml:"spec"`
}

// CRDs reads every CRD of crds/ with its Russian descriptions from
// crds/doc-ru-<same name>, one Reference per served version.
func CRDs(repo string) ([]Reference, error) {
	files, err := filepath.Glob(filepath.Join(repo, "crds", "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var refs []Reference
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasPrefix(base, "doc-ru-") {
			continue
		}
		var en, ru crd
		if err := readYAML(f, &en); err != nil {
			return nil, fmt.Errorf("read CRD: %w", err)
		}
		ruFile := filepath.Join(filepath.Dir(f), "doc-ru-"+base)
		if err := readYAML(ruFile, &ru); err != nil {
			return nil, fmt.Errorf("read the Russian descriptions of %s: %w", base, err)
		}
		for _, v := range en.Spec.Versions {
			r := Reference{
				Kind: en.Spec.Names.Kind, Group: en.Spec.Group, Version: v.Name,
				Title:  fmt.Sprintf("%s (%s/%s)", en.Spec.Names.Kind, en.Spec.Group, v.Name),
				Prefix: strings.ToLower(en.Spec.Names.Kind + "-" + v.Name),
				EN:     v.Schema.OpenAPIV3Schema, RU: &Schema{},
			}
			for _, rv := range ru.Spec.Versions {
				if rv.Name == v.Name && rv.Schema.OpenAPIV3Schema != nil {
					r.RU = rv.Schema.OpenAPIV3Schema
				}
			}
			if r.EN == nil {
				return nil, fmt.Errorf("%s: version %s has no openAPIV3Schema", base, v.Name)
			}
			refs = append(refs, r)
		}
	}
	return refs, nil
}

// skipped are the fields of every Kubernetes object, described by Kubernetes.
var skipped = map[string]bool{"apiVersion": true, "kind": true, "metadata": true}

// Fields lists every property of r, nested ones included, in page order.
func (r Reference) Fields() []Field {
	var out []Field
	walk(r.EN, r.RU, "", r.Prefix, func(path, id string, en, ru *Schema) {
		out = append(out, Field{Path: path, ID: id, Description: map[string]string{"en": en.Description, "ru": ru.Description}})
	})
	return out
}

// walk calls fn for each property of en below prefix path, with its Russian
// twin, nested properties (of objects and of array items) after their parent.
func walk(en, ru *Schema, path, idPrefix string, fn func(path, id string, en, ru *Schema)) {
	children(en, ru, path, idPrefix, func(full string, s, rs *Schema) {
		fn(full, fieldID(idPrefix, full), s, rs)
		walk(s, rs, full, idPrefix, fn)
		if s.Items != nil {
			walk(s.Items, rs.Items, full+"[]", idPrefix, fn)
		}
	})
}

// children calls fn for each direct property of en with its full path and
// its Russian twin (an empty schema where the Russian file has none). The
// top-level apiVersion, kind and metadata of an object are left out.
func children(en, ru *Schema, path, idPrefix string, fn func(full string, en, ru *Schema)) {
	if ru == nil {
		ru = &Schema{}
	}
	for _, p := range en.Properties {
		if path == "" && skipped[p.Name] && idPrefix != "settings" {
			continue
		}
		full := p.Name
		if path != "" {
			full = path + "." + p.Name
		}
		rp := ru.Properties.get(p.Name)
		if rp == nil {
			rp = &Schema{}
		}
		fn(full, p.Schema, rp)
	}
}

// fieldID is the HTML id of a field: lower case, "." and "[]" become "-".
func fieldID(prefix, path string) string {
	p := strings.ToLower(strings.NewReplacer("[]", "", ".", "-").Replace(path))
	return prefix + "-" + p
}

var labels = map[string]map[string]string{
	"en": {
		"required": "required", "default": "Default", "enum": "Allowed values", "pattern": "Pattern",
		"examples": "Examples", "length": "Length", "range": "Range", "items": "Items", "rule": "Rule",
		"array": "array of", "map": "map of", "any": "object (any fields)", "intstr": "integer or string",
	},
	"ru": {
		"required": "обязательный", "default": "По умолчанию", "enum": "Допустимые значения", "pattern": "Шаблон",
		"examples": "Примеры", "length": "Длина", "range": "Диапазон", "items": "Элементов", "rule": "Правило",
		"array": "массив из", "map": "словарь из", "any": "объект (любые поля)", "intstr": "целое число или строка",
	},
}

// Markdown renders the fields of r as nested Markdown lists in lang ("en"
// or "ru"): each property with its type, description, default, allowed
// values, pattern, limits, examples and CEL rules.
func (r Reference) Markdown(lang string) string {
	var b strings.Builder
	if r.Title != "" {
		// The kind's own description is the page's prose above; only the
		// fields follow.
		fmt.Fprintf(&b, "### %s\n\n", r.Title)
	}
	renderProps(&b, r.EN, r.RU, "", r.Prefix, lang, 0)
	return b.String()
}

func renderProps(b *strings.Builder, en, ru *Schema, path, prefix, lang string, depth int) {
	ind := strings.Repeat("  ", depth)
	l := labels[lang]
	children(en, ru, path, prefix, func(full string, s, rs *Schema) {
		head := fmt.Sprintf("%s- <span class=\"field\" id=\"%s\"></span>**`%s`** — %s", ind, fieldID(prefix, full), full, typeOf(s, l))
		name := full[strings.LastIndex(full, ".")+1:]
		for _, r := range en.Required {
			if r == name {
				head += ", *" + l["required"] + "*"
			}
		}
		b.WriteString(head + "\n\n")
		body := ind + "  "
		desc := s.Description
		if lang == "ru" {
			// No English fallback: a missing Russian description is shown as
			// missing (and the site test reports it).
			desc = rs.Description
		}
		if d := strings.TrimSpace(desc); d != "" {
			b.WriteString(indent(d, body) + "\n\n")
		}
		for _, fact := range facts(s, l) {
			b.WriteString(body + fact + "\n\n")
		}
		renderProps(b, s, rs, full, prefix, lang, depth+1)
		if s.Items != nil && len(s.Items.Properties) > 0 {
			renderProps(b, s.Items, rs.Items, full+"[]", prefix, lang, depth+1)
		}
	})
}

func indent(text, ind string) string {
	lines := strings.Split(text, "\n")
	for i, ln := range lines {
		if strings.TrimSpace(ln) != "" {
			lines[i] = ind + ln
		} else {
			lines[i] = ""
		}
	}
	return strings.Join(lines, "\n")
}

func typeOf(s *Schema, l map[string]string) string {
	switch {
	case s.IntOrString:
		return l["intstr"]
	case s.Type == "array" && s.Items != nil:
		return l["array"] + " " + typeOf(s.Items, l)
	case s.Type == "object" && s.PreserveUnknown && len(s.Properties) == 0:
		return l["any"]
	case s.Type == "object" && len(s.Properties) == 0:
		if m, ok := s.AdditionalProperties.(map[string]any); ok {
			if t, ok := m["type"].(string); ok {
				return l["map"] + " " + t
			}
		}
	}
	t := s.Type
	if t == "" {
		t = "any"
	}
	if s.Format != "" {
		t += " (" + s.Format + ")"
	}
	return t
}

// facts are the one-line properties of a schema: default, enum, pattern,
// limits, examples, rules.
func facts(s *Schema, l map[string]string) []string {
	var out []string
	if s.Default != nil {
		out = append(out, fmt.Sprintf("%s: %s", l["default"], code(s.Default)))
	}
	if len(s.Enum) > 0 {
		vals := make([]string, len(s.Enum))
		for i := range s.Enum {
			vals[i] = code(s.Enum[i])
		}
		out = append(out, fmt.Sprintf("%s: %s", l["enum"], strings.Join(vals, ", ")))
	}
	if s.Pattern != "" {
		out = append(out, fmt.Sprintf("%s: %s", l["pattern"], span(s.Pattern)))
	}
	if r := bounds(s.MinLength, s.MaxLength); r != "" {
		out = append(out, l["length"]+": "+r)
	}
	if s.Minimum != nil || s.Maximum != nil {
		var lo, hi *int64
		if s.Minimum != nil {
			v := int64(*s.Minimum)
			lo = &v
		}
		if s.Maximum != nil {
			v := int64(*s.Maximum)
			hi = &v
		}
		out = append(out, l["range"]+": "+bounds(lo, hi))
	}
	if r := bounds(s.MinItems, s.MaxItems); r != "" {
		out = append(out, l["items"]+": "+r)
	}
	var ex []string
	for i := range s.Examples {
		ex = append(ex, code(s.Examples[i]))
	}
	if s.Example != nil {
		ex = append(ex, code(s.Example))
	}
	if len(ex) > 0 {
		out = append(out, fmt.Sprintf("%s: %s", l["examples"], strings.Join(ex, ", ")))
	}
	for _, v := range s.Validations {
		out = append(out, fmt.Sprintf("%s: %s — %s", l["rule"], span(v.Rule), span(v.Message)))
	}
	return out
}

func bounds(lo, hi *int64) string {
	switch {
	case lo != nil && hi != nil:
		return fmt.Sprintf("%d…%d", *lo, *hi)
	case lo != nil:
		return fmt.Sprintf("≥ %d", *lo)
	case hi != nil:
		return fmt.Sprintf("≤ %d", *hi)
	}
	return ""
}

// code shows a YAML value as a code span: a string as it is, anything else
// as compact JSON.
func code(v any) string {
	if s, ok := v.(string); ok {
		return span(s)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return span(fmt.Sprint(v))
	}
	return span(string(b))
}

// span is a Markdown code span that holds any text, backticks included.
func span(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if s == "" {
		return "`\"\"`"
	}
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + s + pad + fence
}
