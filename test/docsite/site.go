// Copyright 2026 The secrets-store-integration Authors
// SPDX-License-Identifier: Apache-2.0

package docsite

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// layout is the site's own theme: Hugo templates and a style sheet; nothing
// is downloaded at build time.
//
//go:embed all:layout
var layout embed.FS

// Placeholder is what a reference page holds where the schema goes, as on
// Deckhouse's documentation site.
const Placeholder = "<!-- SCHEMA -->"

// Page is one Markdown page of docs/.
type Page struct {
	File string // file name in docs/, e.g. USAGE.ru.md
	Name string // the page without language, e.g. USAGE
	Lang string // "en" or "ru"
	URL  string // path on the site, e.g. /ru/usage/
}

// Pages lists docs/*.md; a page named X.ru.md is the Russian twin of X.md.
func Pages(repo string) ([]Page, error) {
	files, err := filepath.Glob(filepath.Join(repo, "docs", "*.md"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var pages []Page
	for _, f := range files {
		base := filepath.Base(f)
		p := Page{File: base, Lang: "en", Name: strings.TrimSuffix(base, ".md")}
		if strings.HasSuffix(base, ".ru.md") {
			p.Lang, p.Name = "ru", strings.TrimSuffix(base, ".ru.md")
		}
		p.URL = pageURL(p.Name, p.Lang)
		pages = append(pages, p)
	}
	return pages, nil
}

// pageURL is where Hugo puts a page: README is the home page of its
// language, any other page gets its lower-cased name.
func pageURL(name, lang string) string {
	u := "/"
	if lang == "ru" {
		u = "/ru/"
	}
	if name != "README" {
		u += strings.ToLower(name) + "/"
	}
	return u
}

// order is the navigation's order; other pages follow by name.
var order = []string{"README", "USAGE", "CONFIGURATION", "CR", "FAQ", "SECURITY", "BENCHMARKS", "MIGRATION", "RELEASE_NOTES"}

func weight(name string) int {
	for i, n := range order {
		if n == name {
			return i + 1
		}
	}
	return len(order) + 1
}

// Build writes the Hugo project for docs/ into dir (content, layouts,
// static files) and renders it into dir/public, which it returns.
func Build(ctx context.Context, repo, dir string) (string, error) {
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := fs.WalkDir(layout, "layout", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := layout.ReadFile(p)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(dir, strings.TrimPrefix(p, "layout/")), b)
	}); err != nil {
		return "", fmt.Errorf("write the layout: %w", err)
	}
	c := &converter{repo: repo, static: filepath.Join(dir, "static"), dirs: map[string]bool{}}
	if err := c.loadSchemas(); err != nil {
		return "", err
	}
	pages, err := Pages(repo)
	if err != nil {
		return "", err
	}
	for _, p := range pages {
		src, err := os.ReadFile(filepath.Join(repo, "docs", p.File))
		if err != nil {
			return "", err
		}
		out, err := c.page(p, string(src))
		if err != nil {
			return "", fmt.Errorf("docs/%s: %w", p.File, err)
		}
		name := p.File
		if p.Name == "README" {
			name = strings.Replace(name, "README", "_index", 1)
		}
		if err := writeFile(filepath.Join(dir, "content", name), []byte(out)); err != nil {
			return "", err
		}
	}
	// Everything of docs/ that is not a page (pictures, examples) is served
	// at the same path, so a page's relative link works on the site too.
	if err := c.copyTree(filepath.Join(repo, "docs"), c.static, func(p string) bool {
		return filepath.Dir(p) == filepath.Join(repo, "docs") && strings.HasSuffix(p, ".md")
	}); err != nil {
		return "", err
	}
	if err := c.writeIndexes(); err != nil {
		return "", err
	}
	public := filepath.Join(dir, "public")
	cmd := exec.CommandContext(ctx, "hugo", "--source", dir, "--destination", public, "--quiet", "--panicOnWarning")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("hugo: %w: %s", err, out)
	}
	return public, nil
}

type converter struct {
	repo, static string
	settings     Reference
	crds         []Reference
	dirs         map[string]bool // static folders that need an index page
}

func (c *converter) loadSchemas() error {
	var err error
	if c.settings, err = Settings(c.repo); err != nil {
		return err
	}
	c.crds, err = CRDs(c.repo)
	return err
}

var (
	fence = regexp.MustCompile("^\\s*(```|~~~)")
	// link is the target of a Markdown link or image: ](target) or
	// ](target "title").
	link = regexp.MustCompile(`\]\(([^)\s]+)((?:\s+"[^"]*")?)\)`)
)

// page turns one docs page into Hugo content: a weight for the
// navigation, the schema in place of the placeholder, links for the site.
func (c *converter) page(p Page, src string) (string, error) {
	if strings.HasPrefix(src, "---\n") {
		src = fmt.Sprintf("---\nweight: %d\n%s", weight(p.Name), strings.TrimPrefix(src, "---\n"))
	}
	lines := strings.Split(src, "\n")
	inFence := false
	for i, ln := range lines {
		if fence.MatchString(ln) {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		var err error
		lines[i] = outsideCode(ln, func(text string) string {
			return link.ReplaceAllStringFunc(text, func(m string) string {
				sub := link.FindStringSubmatch(m)
				target, rerr := c.rewrite(sub[1])
				if rerr != nil && err == nil {
					err = rerr
				}
				return "](" + target + sub[2] + ")"
			})
		})
		if err != nil {
			return "", err
		}
	}
	src = strings.Join(lines, "\n")
	if strings.Contains(src, Placeholder) {
		var ref strings.Builder
		switch p.Name {
		case "CONFIGURATION":
			ref.WriteString(c.settings.Markdown(p.Lang))
		case "CR":
			for _, r := range c.crds {
				ref.WriteString(r.Markdown(p.Lang))
			}
		default:
			return "", fmt.Errorf("%s: only CONFIGURATION and CR pages have a schema", Placeholder)
		}
		src = strings.Replace(src, Placeholder, ref.String(), 1)
	}
	return src, nil
}

// outsideCode applies fn to the parts of a line that are not code spans.
func outsideCode(line string, fn func(string) string) string {
	var b strings.Builder
	for {
		start := strings.Index(line, "`")
		if start < 0 {
			return b.String() + fn(line)
		}
		n := start
		for n < len(line) && line[n] == '`' {
			n++
		}
		ticks := line[start:n]
		end := -1
		for i := n; i < len(line); {
			j := strings.Index(line[i:], ticks)
			if j < 0 {
				break
			}
			k := i + j + len(ticks)
			if k >= len(line) || line[k] != '`' {
				end = k
				break
			}
			for k < len(line) && line[k] == '`' {
				k++
			}
			i = k
		}
		if end < 0 {
			return b.String() + fn(line)
		}
		b.WriteString(fn(line[:start]))
		b.WriteString(line[start:end])
		line = line[end:]
	}
}

// rewrite turns a link relative to docs/ into a path on the site: a page
// into its URL, a file of docs/ into the same path, a file or folder
// outside docs/ into a copy under /source/.
func (c *converter) rewrite(target string) (string, error) {
	if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "/") || strings.HasPrefix(target, "mailto:") {
		return target, nil
	}
	file, anchor, _ := strings.Cut(target, "#")
	if anchor != "" {
		anchor = "#" + anchor
	}
	rel := path.Clean(path.Join("docs", file))
	if d, base := path.Split(rel); d == "docs/" && strings.HasSuffix(base, ".md") {
		lang, name := "en", strings.TrimSuffix(base, ".md")
		if strings.HasSuffix(base, ".ru.md") {
			lang, name = "ru", strings.TrimSuffix(base, ".ru.md")
		}
		return pageURL(name, lang) + anchor, nil
	}
	abs := filepath.Join(c.repo, filepath.FromSlash(rel))
	site := "/" + strings.TrimPrefix(rel, "docs/")
	if !strings.HasPrefix(rel, "docs/") {
		site = "/source/" + rel
	}
	info, err := os.Stat(abs)
	if err != nil {
		// Left as it is: the page links to nothing, and the site's link
		// check reports it with the page.
		return site + anchor, nil
	}
	if !strings.HasPrefix(rel, "docs/") {
		if err := c.copyTree(abs, filepath.Join(c.static, "source", filepath.FromSlash(rel)), nil); err != nil {
			return "", err
		}
	}
	if info.IsDir() {
		c.dirs[filepath.Join(c.static, filepath.FromSlash(strings.TrimPrefix(site, "/")))] = true
		site = strings.TrimSuffix(site, "/") + "/"
	}
	return site + anchor, nil
}

// copyTree copies a file or a folder, leaving out what skip says.
func (c *converter) copyTree(from, to string, skip func(string) bool) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || (skip != nil && skip(p)) {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(to, rel), b)
	})
}

// writeIndexes gives each linked folder a page listing its files (Hugo's
// static files have none).
func (c *converter) writeIndexes() error {
	for dir := range c.dirs {
		var items []string
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			items = append(items, fmt.Sprintf("<li><a href=\"%s\">%s</a></li>", html.EscapeString(rel), html.EscapeString(rel)))
			return nil
		})
		if err != nil {
			return err
		}
		name := filepath.Base(dir)
		var b bytes.Buffer
		fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title><link rel=\"stylesheet\" href=\"/site.css\"></head>\n<body><main><h1>%s</h1><ul>%s</ul></main></body></html>\n",
			html.EscapeString(name), html.EscapeString(name), strings.Join(items, ""))
		if err := writeFile(filepath.Join(dir, "index.html"), b.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(name string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, b, 0o644)
}
