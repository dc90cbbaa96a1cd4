// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

// Package docsite builds the documentation site with Hugo, serves it, and
// reads every page in both languages with headless Chromium: links and
// anchors resolve, pictures load, each page has its title and its twin,
// code blocks are code, and the reference pages show every setting and CRD
// field of the schemas with a description in the page's language. A
// screenshot of each page goes to the test's artifact folder
// (go test -artifacts -outputdir DIR keeps them).
package docsite

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/chromedp/chromedp"
	"sigs.k8s.io/yaml"

	"github.com/deckhouse/secrets-store-integration/test/docsite"
	"github.com/deckhouse/secrets-store-integration/test/testenv"
)

// seen is what the browser found on one page.
type seen struct {
	Title  string            `json:"title"`
	Links  []string          `json:"links"`
	Images []image           `json:"images"`
	IDs    []string          `json:"ids"`
	Code   int               `json:"code"`
	Bare   int               `json:"bare"`  // <pre> without <code>
	Stray  bool              `json:"stray"` // a ``` fence shown as text
	Twins  []twin            `json:"twins"`
	Nav    []string          `json:"nav"`
	Fields map[string]string `json:"fields"`
}

type image struct {
	Src string `json:"src"`
	OK  bool   `json:"ok"`
}

type twin struct {
	Lang string `json:"lang"`
	Href string `json:"href"`
}

const inspect = `(() => {
  const fields = {};
  for (const s of document.querySelectorAll('span.field[id]')) {
    const li = s.closest('li');
    if (!li) continue;
    const c = li.cloneNode(true);
    c.querySelectorAll('ul, ol').forEach(e => e.remove());
    fields[s.id] = c.textContent;
  }
  const main = document.querySelector('main').cloneNode(true);
  main.querySelectorAll('pre, code').forEach(e => e.remove());
  return {
    title: (document.querySelector('main h1') || {}).textContent || '',
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    images: [...document.images].map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0})),
    ids: [...document.querySelectorAll('[id]')].map(e => e.id),
    code: document.querySelectorAll('main pre > code').length,
    bare: [...document.querySelectorAll('main pre')].filter(p => !p.querySelector('code')).length,
    stray: main.textContent.includes('` + "```" + `'),
    twins: [...document.querySelectorAll('a.twin')].map(a => ({lang: a.hreflang, href: a.href})),
    nav: [...document.querySelectorAll('nav.site ul.pages a')].map(a => a.href),
    fields: fields,
  };
})()`

func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium not found: `make test-tools` installs Debian's chromium")
	return ""
}

func TestSite(t *testing.T) {
	if _, err := exec.LookPath("hugo"); err != nil {
		t.Fatal("hugo not found: `make test-tools` installs Debian's hugo")
	}
	browser := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	root, err := testenv.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	public, err := docsite.Build(ctx, root, filepath.Join(t.TempDir(), "site"))
	if err != nil {
		t.Fatalf("build the site: %v", err)
	}
	t.Logf("built the site in %s", time.Since(start).Round(time.Millisecond))
	srv := httptest.NewServer(http.FileServer(http.Dir(public)))
	defer srv.Close()

	pages, err := docsite.Pages(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("no pages in docs/")
	}
	checkTwins(t, pages)

	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()

	shots := t.ArtifactDir()
	found := map[string]seen{} // by page URL
	for _, p := range pages {
		var s seen
		var shot []byte
		pageURL := srv.URL + p.URL
		if err := chromedp.Run(browserCtx,
			chromedp.Navigate(pageURL),
			chromedp.Evaluate(inspect, &s),
			chromedp.FullScreenshot(&shot, 80),
		); err != nil {
			t.Fatalf("read %s (%s) in the browser: %v", p.File, pageURL, err)
		}
		name := strings.TrimSuffix(p.File, ".md") + ".jpg"
		if err := os.WriteFile(filepath.Join(shots, name), shot, 0o644); err != nil {
			t.Fatal(err)
		}
		found[p.URL] = s
	}
	t.Logf("screenshots of %d pages in %s", len(pages), shots)

	for _, p := range pages {
		s := found[p.URL]
		t.Run(p.File, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(root, "docs", p.File))
			if err != nil {
				t.Fatal(err)
			}
			checkTitle(t, string(src), s)
			checkCode(t, string(src), s)
			checkNavigation(t, srv.URL, p, pages, s)
			for _, img := range s.Images {
				if !img.OK {
					t.Errorf("picture %s did not load", img.Src)
				}
			}
		})
	}
	checkLinks(t, srv.URL, found)
	checkReference(t, root, pages, found)
	t.Logf("checked %d pages in %s", len(pages), time.Since(start).Round(time.Millisecond))
}

func checkTwins(t *testing.T, pages []docsite.Page) {
	have := map[string]bool{}
	for _, p := range pages {
		have[p.Name+"/"+p.Lang] = true
	}
	for _, p := range pages {
		other := "ru"
		if p.Lang == "ru" {
			other = "en"
		}
		if !have[p.Name+"/"+other] {
			t.Errorf("docs/%s has no %s twin", p.File, other)
		}
	}
}

var frontTitle = regexp.MustCompile(`(?m)^title:\s*(.+)$`)

func checkTitle(t *testing.T, src string, s seen) {
	t.Helper()
	front, ok := frontMatter(src)
	if !ok {
		t.Error("no front matter")
		return
	}
	m := frontTitle.FindStringSubmatch(front)
	if m == nil {
		t.Error("front matter has no title")
		return
	}
	var title string
	if err := yaml.Unmarshal([]byte("t: "+m[1]), &struct {
		T *string `json:"t"`
	}{&title}); err != nil || strings.TrimSpace(title) == "" {
		t.Errorf("front matter title %q is empty or not YAML: %v", m[1], err)
		return
	}
	if strings.TrimSpace(s.Title) != title {
		t.Errorf("the page's heading is %q, its front matter title %q", s.Title, title)
	}
}

func frontMatter(src string) (string, bool) {
	if !strings.HasPrefix(src, "---\n") {
		return "", false
	}
	front, _, ok := strings.Cut(strings.TrimPrefix(src, "---\n"), "\n---\n")
	return front, ok
}

var fenceLine = regexp.MustCompile("^\\s*(```|~~~)")

// checkCode: every fenced block of the source is a <pre><code> on the page,
// and no fence is left as text.
func checkCode(t *testing.T, src string, s seen) {
	t.Helper()
	fences := 0
	for _, ln := range strings.Split(src, "\n") {
		if fenceLine.MatchString(ln) {
			fences++
		}
	}
	if fences/2 != s.Code {
		t.Errorf("%d code blocks in the source, %d rendered as <pre><code>", fences/2, s.Code)
	}
	if s.Bare > 0 {
		t.Errorf("%d <pre> blocks without <code>", s.Bare)
	}
	if s.Stray {
		t.Error("a ``` fence is shown as text: a code block was not rendered as code")
	}
}

// checkNavigation: the navigation lists every page of the language, and
// the language switch leads to the twin.
func checkNavigation(t *testing.T, base string, p docsite.Page, pages []docsite.Page, s seen) {
	t.Helper()
	nav := map[string]bool{}
	for _, href := range s.Nav {
		nav[strings.TrimPrefix(href, base)] = true
	}
	for _, q := range pages {
		if q.Lang == p.Lang && !nav[q.URL] {
			t.Errorf("the navigation does not list %s (%s)", q.File, q.URL)
		}
	}
	for _, q := range pages {
		if q.Name != p.Name || q.Lang == p.Lang {
			continue
		}
		ok := false
		for _, tw := range s.Twins {
			if tw.Lang == q.Lang && strings.TrimPrefix(tw.Href, base) == q.URL {
				ok = true
			}
		}
		if !ok {
			t.Errorf("no language switch to %s (%s); switches: %v", q.File, q.URL, s.Twins)
		}
	}
}

// checkLinks fetches every internal link and picture of every page once and
// finds each anchor among the ids of the page it points to.
func checkLinks(t *testing.T, base string, found map[string]seen) {
	t.Helper()
	targets := map[string][]string{} // URL without fragment -> pages linking to it
	anchors := map[string][]string{} // URL with fragment -> pages
	for page, s := range found {
		all := append([]string{}, s.Links...)
		for _, img := range s.Images {
			all = append(all, img.Src)
		}
		for _, href := range all {
			if !strings.HasPrefix(href, base+"/") {
				continue // outside the site: not checked (the network is closed)
			}
			u, err := url.Parse(href)
			if err != nil {
				t.Errorf("%s: link %q: %v", page, href, err)
				continue
			}
			frag := u.Fragment
			u.Fragment = ""
			targets[u.String()] = append(targets[u.String()], page)
			if frag != "" {
				anchors[href] = append(anchors[href], page)
			}
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for target, from := range targets {
		resp, err := client.Get(target)
		if err != nil {
			t.Errorf("link %s (from %v): %v", target, from, err)
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("broken link %s (from %v): %s", strings.TrimPrefix(target, base), from, resp.Status)
		}
	}
	for href, from := range anchors {
		u, _ := url.Parse(href)
		frag, err := url.PathUnescape(u.Fragment)
		if err != nil {
			frag = u.Fragment
		}
		target, ok := found[u.Path]
		if !ok {
			t.Errorf("anchor %s (from %v) points outside the pages", strings.TrimPrefix(href, base), from)
			continue
		}
		if !contains(target.IDs, frag) {
			t.Errorf("broken anchor %s (from %v): no element with id %q", strings.TrimPrefix(href, base), from, frag)
		}
	}
	t.Logf("checked %d link targets and %d anchors", len(targets), len(anchors))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkReference: each property of the schemas is on its reference page in
// both languages, with its description in the page's language.
func checkReference(t *testing.T, root string, pages []docsite.Page, found map[string]seen) {
	t.Helper()
	settings, err := docsite.Settings(root)
	if err != nil {
		t.Fatal(err)
	}
	crds, err := docsite.CRDs(root)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string][]docsite.Reference{"CONFIGURATION": {settings}, "CR": crds}
	// The fields the reference lists, counted again from the raw YAML, so a
	// property the generator's reader skips is noticed.
	if want, got := countProperties(t, filepath.Join(root, "openapi", "config-values.yaml"), nil), len(settings.Fields()); want != got {
		t.Errorf("openapi/config-values.yaml has %d properties, the reference lists %d", want, got)
	}
	crdFields := 0
	for _, r := range crds {
		crdFields += len(r.Fields())
	}
	crdFiles, _ := filepath.Glob(filepath.Join(root, "crds", "*.yaml"))
	want := 0
	for _, f := range crdFiles {
		if !strings.HasPrefix(filepath.Base(f), "doc-ru-") {
			want += countProperties(t, f, []string{"spec", "versions", "*", "schema", "openAPIV3Schema"})
		}
	}
	if want != crdFields {
		t.Errorf("crds/ have %d properties (apiVersion, kind, metadata aside), the reference lists %d", want, crdFields)
	}
	checked := 0
	for _, p := range pages {
		rs, ok := refs[p.Name]
		if !ok {
			continue
		}
		s := found[p.URL]
		for _, r := range rs {
			for _, f := range r.Fields() {
				checked++
				text, ok := s.Fields[f.ID]
				if !ok {
					t.Errorf("%s: %s is not on the page (no element #%s)", p.File, f.Path, f.ID)
					continue
				}
				desc := f.Description[p.Lang]
				if strings.TrimSpace(desc) == "" {
					t.Errorf("%s: %s has no %s description in the schema files", p.File, f.Path, p.Lang)
					continue
				}
				if p.Lang == "ru" && !hasCyrillic(desc) {
					t.Errorf("%s: the Russian description of %s is not in Russian: %q", p.File, f.Path, desc)
				}
				if want := firstWords(desc); !strings.Contains(normalize(text), want) {
					t.Errorf("%s: %s is shown without its description %q; shown: %q", p.File, f.Path, want, normalize(text))
				}
			}
		}
	}
	if checked == 0 {
		t.Error("no reference page was checked")
	}
	t.Logf("checked %d schema fields on the reference pages", checked)
}

// countProperties counts the properties below the node at path (a "*"
// step: every element of a list), apiVersion, kind and metadata of an
// object's top level aside.
func countProperties(t *testing.T, file string, path []string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	nodes := []any{doc}
	for _, step := range path {
		var next []any
		for _, n := range nodes {
			if step == "*" {
				l, _ := n.([]any)
				next = append(next, l...)
			} else if m, ok := n.(map[string]any); ok && m[step] != nil {
				next = append(next, m[step])
			}
		}
		nodes = next
	}
	n := 0
	for _, node := range nodes {
		n += count(node, len(path) > 0)
	}
	return n
}

func count(node any, object bool) int {
	m, ok := node.(map[string]any)
	if !ok {
		return 0
	}
	n := 0
	props, _ := m["properties"].(map[string]any)
	for name, p := range props {
		if object && (name == "apiVersion" || name == "kind" || name == "metadata") {
			continue
		}
		n += 1 + count(p, false)
	}
	if items, ok := m["items"]; ok {
		n += count(items, false)
	}
	return n
}

func hasCyrillic(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Cyrillic, r) {
			return true
		}
	}
	return false
}

var mdLink = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)

// normalize makes Markdown source and rendered text comparable: no markup
// characters, typographic quotes as plain ones, single spaces.
func normalize(s string) string {
	s = mdLink.ReplaceAllString(s, "$1")
	s = strings.NewReplacer("`", "", "*", "", "’", "'", "‘", "'", "“", `"`, "”", `"`, "«", `"`, "»", `"`, "–", "-", "—", "-", "&hellip;", "...", "…", "...").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// firstWords is the start of a description's first paragraph, as the page
// shows it.
func firstWords(desc string) string {
	para, _, _ := strings.Cut(strings.TrimSpace(desc), "\n\n")
	words := strings.Fields(normalize(para))
	if len(words) > 12 {
		words = words[:12]
	}
	return strings.Join(words, " ")
}
