// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package docs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"
)

// parseOnly are kinds whose CRDs are not ours and not installed: their
// examples are only parsed. ModuleConfig is Deckhouse's (its settings are
// checked against openapi/ by the module's own tests); SecretProviderClass
// is the upstream secrets-store CSI driver's.
var parseOnly = map[string]bool{
	"ModuleConfig":        true,
	"SecretProviderClass": true,
}

// block is one YAML example: a fenced block of a page or an example file.
type block struct {
	where string // file:line
	text  string
}

// checked records what happened to every block, for the report.
type checked struct {
	where, what string
}

var _ = Describe("documentation pages", func() {
	It("come in pairs: every docs/*.md has its docs/*.ru.md and back", func() {
		pages := docPages()
		Expect(pages).NotTo(BeEmpty())
		have := map[string]bool{}
		for _, p := range pages {
			have[filepath.Base(p)] = true
		}
		var missing []string
		for name := range have {
			twin := strings.TrimSuffix(name, ".md") + ".ru.md"
			if strings.HasSuffix(name, ".ru.md") {
				twin = strings.TrimSuffix(name, ".ru.md") + ".md"
			}
			if !have[twin] {
				missing = append(missing, fmt.Sprintf("%s has no twin %s", name, twin))
			}
		}
		sort.Strings(missing)
		Expect(missing).To(BeEmpty())
	})

	It("start with front matter holding a non-empty title and description", func() {
		var problems []string
		for _, p := range docPages() {
			if err := checkFrontMatter(p); err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", filepath.Base(p), err))
			}
		}
		Expect(problems).To(BeEmpty())
	})
})

var _ = Describe("YAML examples", func() {
	It("parse, and whole objects pass server-side dry-run", func(ctx SpecContext) {
		var blocks []block
		for _, p := range docPages() {
			bs, err := fencedYAML(p)
			Expect(err).NotTo(HaveOccurred())
			blocks = append(blocks, bs...)
		}
		fromPages := len(blocks)
		Expect(fromPages).To(BeNumerically(">", 0))
		files, err := exampleFiles()
		Expect(err).NotTo(HaveOccurred())
		Expect(files).NotTo(BeEmpty())
		for _, f := range files {
			data, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			blocks = append(blocks, block{where: rel(f), text: string(data)})
		}

		dr, err := newDryRunner()
		Expect(err).NotTo(HaveOccurred())
		var report []checked
		var problems []string
		for _, b := range blocks {
			what, err := dr.check(ctx, b)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", b.where, err))
				continue
			}
			report = append(report, checked{b.where, what})
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "%d YAML blocks of docs/*.md and %d files of docs/examples:\n", fromPages, len(files))
		for _, c := range report {
			fmt.Fprintf(&sb, "  %-40s %s\n", c.where, c.what)
		}
		AddReportEntry("YAML examples checked", sb.String())
		Expect(problems).To(BeEmpty())
	})
})

// docPages lists docs/*.md (the Russian twins included).
func docPages() []string {
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	sort.Strings(pages)
	return pages
}

// exampleFiles lists docs/examples/**/*.yaml.
func exampleFiles() ([]string, error) {
	var files []string
	err := filepath.WalkDir(filepath.Join(root, "docs", "examples"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			files = append(files, path)
		}
		return nil
	})
	return files, err
}

func rel(path string) string {
	if r, err := filepath.Rel(root, path); err == nil {
		return r
	}
	return path
}

// checkFrontMatter wants a page to open with
//
//	---
//	title: "..."
//	description: "..."
//	---
func checkFrontMatter(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	text := string(data)
	if !strings.HasPrefix(text, "---\n") {
		return errors.New("no front matter: the page does not start with ---")
	}
	end := strings.Index(text[4:], "\n---\n")
	if end < 0 {
		return errors.New("front matter is not closed with ---")
	}
	var fm struct {
		Title       string `json:"title"`
		Description string `json:"description"`
	}
	if err := yaml.Unmarshal([]byte(text[4:4+end+1]), &fm); err != nil {
		return fmt.Errorf("front matter does not parse: %w", err)
	}
	if strings.TrimSpace(fm.Title) == "" {
		return errors.New("front matter has no title")
	}
	if strings.TrimSpace(fm.Description) == "" {
		return errors.New("front matter has no description")
	}
	return nil
}

var (
	fenceOpen  = regexp.MustCompile("^(\\s*)```\\s*(ya?ml)\\s*$")
	fenceClose = regexp.MustCompile("^\\s*```\\s*$")
)

// fencedYAML returns the ```yaml blocks of a Markdown page, their
// indentation (a block inside a list item) removed.
func fencedYAML(path string) ([]block, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var blocks []block
	var cur *block
	var indent string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if cur == nil {
			if m := fenceOpen.FindStringSubmatch(line); m != nil {
				indent = m[1]
				cur = &block{where: fmt.Sprintf("%s:%d", rel(path), n)}
			}
			continue
		}
		if fenceClose.MatchString(line) {
			blocks = append(blocks, *cur)
			cur = nil
			continue
		}
		cur.text += strings.TrimPrefix(line, indent) + "\n"
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if cur != nil {
		return nil, fmt.Errorf("%s: yaml block not closed", cur.where)
	}
	return blocks, nil
}

// documents splits a block into its YAML documents and parses each (keys
// may not repeat); empty documents are dropped.
func documents(text string) ([]any, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(text)))
	var docs []any
	for i := 1; ; i++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		var doc any
		if err := yaml.UnmarshalStrict(raw, &doc); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

// dryRunner server-side applies objects with dryRun=All as the cluster admin.
type dryRunner struct {
	client dynamic.Interface
	mapper meta.RESTMapper
}

func newDryRunner() (*dryRunner, error) {
	client, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(env.Kube.Discovery()))
	return &dryRunner{client: client, mapper: mapper}, nil
}

// check parses a block and dry-runs its whole objects; it says what it did.
func (d *dryRunner) check(ctx context.Context, b block) (string, error) {
	docs, err := documents(b.text)
	if err != nil {
		return "", fmt.Errorf("does not parse: %w", err)
	}
	if len(docs) == 0 {
		return "", errors.New("empty")
	}
	var did []string
	for _, doc := range docs {
		obj, ok := wholeObject(doc)
		switch {
		case !ok:
			wrapped, what := wrapFragment(doc)
			if wrapped == nil {
				did = append(did, "fragment: parsed")
				continue
			}
			if err := d.apply(ctx, wrapped); err != nil {
				return "", fmt.Errorf("fragment (%s): %w", what, err)
			}
			did = append(did, "fragment ("+what+"): parsed, dry-run accepted inside a "+wrapped.GetKind())
		case parseOnly[obj.GetKind()]:
			did = append(did, obj.GetKind()+" "+obj.GetName()+": parsed (CRD not ours)")
		default:
			if err := d.apply(ctx, obj); err != nil {
				return "", err
			}
			did = append(did, obj.GetKind()+" "+objectName(obj)+": dry-run accepted")
		}
	}
	return strings.Join(did, "; "), nil
}

// wrapFragment puts a fragment that is recognisably part of an object into
// a minimal whole one, so that it is checked by the API server too: a list of
// SecretsStoreImport files (every item has a name and a source or template)
// and a pod's containers list. Other fragments are only parsed (nil).
func wrapFragment(doc any) (*unstructured.Unstructured, string) {
	if items, ok := doc.([]any); ok && len(items) > 0 {
		for _, it := range items {
			m, ok := it.(map[string]any)
			if !ok || m["name"] == nil || (m["source"] == nil && m["template"] == nil) {
				return nil, ""
			}
		}
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "deckhouse.io/v1alpha1",
			"kind":       "SecretsStoreImport",
			"metadata":   map[string]any{"name": "docs-fragment", "namespace": "myapp"},
			"spec":       map[string]any{"type": "CSI", "role": "myapp", "files": items},
		}}, "SecretsStoreImport files"
	}
	if m, ok := doc.(map[string]any); ok && len(m) == 1 && m["containers"] != nil {
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1",
			"kind":       "Pod",
			"metadata":   map[string]any{"name": "docs-fragment", "namespace": "myapp"},
			"spec": map[string]any{
				"serviceAccountName": "myapp",
				"containers":         m["containers"],
				"volumes": []any{map[string]any{"name": "secrets", "csi": map[string]any{
					"driver": "secrets-store.csi.deckhouse.io", "readOnly": true,
					"volumeAttributes": map[string]any{"secretsStoreImport": "myapp"},
				}}},
			},
		}}, "a pod's containers"
	}
	return nil, ""
}

// wholeObject is a document with apiVersion, kind and metadata.name.
func wholeObject(doc any) (*unstructured.Unstructured, bool) {
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, false
	}
	obj := &unstructured.Unstructured{Object: m}
	if obj.GetAPIVersion() == "" || obj.GetKind() == "" || obj.GetName() == "" {
		return nil, false
	}
	return obj, true
}

func (d *dryRunner) apply(ctx context.Context, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	mapping, err := d.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("%s %s: kind unknown to the API server: %w", gvk, obj.GetName(), err)
	}
	var res dynamic.ResourceInterface = d.client.Resource(mapping.Resource)
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		if obj.GetNamespace() == "" {
			obj.SetNamespace("default")
		}
		if err := prerequisites(ctx, obj); err != nil {
			return err
		}
		res = d.client.Resource(mapping.Resource).Namespace(obj.GetNamespace())
	}
	body, err := obj.MarshalJSON()
	if err != nil {
		return err
	}
	force := true
	_, err = res.Patch(ctx, obj.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{
		DryRun: []string{metav1.DryRunAll}, FieldManager: "docs-check", Force: &force,
	})
	if err != nil {
		return fmt.Errorf("%s %s: server-side dry-run refused: %w", obj.GetKind(), objectName(obj), err)
	}
	return nil
}

// prerequisites really creates what a dry-run needs to exist: the object's
// namespace, and a pod's ServiceAccount (the ServiceAccount admission plugin
// refuses a pod whose ServiceAccount is missing).
func prerequisites(ctx context.Context, obj *unstructured.Unstructured) error {
	ns := obj.GetNamespace()
	_, err := env.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	if obj.GetKind() != "Pod" {
		return nil
	}
	sa, _, _ := unstructured.NestedString(obj.Object, "spec", "serviceAccountName")
	if sa == "" {
		sa = "default" // no controller-manager here makes it
	}
	_, err = env.Kube.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create serviceaccount %s/%s: %w", ns, sa, err)
	}
	return nil
}

func objectName(obj *unstructured.Unstructured) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns + "/" + obj.GetName()
	}
	return obj.GetName()
}

var _ = Describe("the YAML examples check itself", func() {
	It("refuses a block that does not parse, repeats a key or is refused by the API server", func(ctx SpecContext) {
		dr, err := newDryRunner()
		Expect(err).NotTo(HaveOccurred())
		_, err = dr.check(ctx, block{where: "bad", text: "a: [1\n"})
		Expect(err).To(MatchError(ContainSubstring("does not parse")))
		_, err = dr.check(ctx, block{where: "dup", text: "a: 1\na: 2\n"})
		Expect(err).To(MatchError(ContainSubstring("does not parse")))
		_, err = dr.check(ctx, block{where: "ssi", text: "apiVersion: deckhouse.io/v1alpha1\nkind: SecretsStoreImport\n" +
			"metadata: {name: bad, namespace: myapp}\nspec: {type: CSI, role: myapp, files: [{name: x}]}\n"})
		Expect(err).To(MatchError(ContainSubstring("server-side dry-run refused")))
		_, err = dr.check(ctx, block{where: "files", text: "- name: x\n  source: {}\n"})
		Expect(err).To(MatchError(ContainSubstring("server-side dry-run refused")))
	})
})
