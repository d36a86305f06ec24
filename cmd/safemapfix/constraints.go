package main

import (
	"bytes"
	"fmt"
	"go/build"
	"go/types"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/safemapfix/safemapfix"
)

// excludedMention is a file that the build constraints of this run leave
// out (another GOOS or GOARCH, or tags not given) and that mentions the name
// of a rewritten map object.
type excludedMention struct {
	Path  string
	Names []string
}

// excludedMentions finds the files that safemapfix could not analyse
// because build constraints exclude them, yet which mention the name of a
// map object that was rewritten. Those files still use the map as a map, so
// the module may stop building on the platforms or tags that include them.
//
// The check is textual: a file is listed when the object's identifier
// appears in it as a word, which can also be another object of the same
// name. Fields are looked for after a dot or as a composite literal key,
// local variables not at all. Unexported names are looked
// for only in the directory of their declaration, exported ones in the
// whole module. Files constrained with the ignore tag (go:build ignore),
// which no build includes, are skipped.
func excludedMentions(res *safemapfix.Result, tags, platforms []string) ([]excludedMention, error) {
	type object struct {
		ident string
		dir   string // "" for exported names, looked for everywhere
		word  *regexp.Regexp
	}
	var objs []object
	for _, f := range res.Findings {
		if !f.Fixed {
			continue
		}
		dir := filepath.Dir(f.Decl.Filename)
		names := f.Group
		if !isLocal(f.Object) {
			// A local variable is named only in its own function, in a
			// file that was analysed; another file mentioning a word of
			// the same name (often a short one) is about something else.
			names = append([]string{f.Name}, names...)
		}
		for _, name := range names {
			ident := name[strings.LastIndex(name, ".")+1:]
			pattern := `\b` + regexp.QuoteMeta(ident) + `\b`
			if v, ok := f.Object.(*types.Var); ok && v.IsField() && name == f.Name {
				// A field is named after a dot (x.field) or as a key
				// of a composite literal (field: v), not as a bare
				// word, which is often a package or a local.
				pattern = `\.` + regexp.QuoteMeta(ident) + `\b|\b` + regexp.QuoteMeta(ident) + `\s*:[^=]`
			}
			o := object{ident: ident, dir: dir, word: regexp.MustCompile(pattern)}
			if ident != "" && ident[0] >= 'A' && ident[0] <= 'Z' {
				o.dir = ""
			}
			objs = append(objs, o)
		}
	}
	if len(objs) == 0 {
		return nil, nil
	}
	files, err := excludedFiles(res.ModuleDir, tags, platforms)
	if err != nil {
		return nil, err
	}
	var out []excludedMention
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if ignoreTag.Match(src) {
			continue
		}
		var names []string
		for _, o := range objs {
			if o.dir != "" && o.dir != filepath.Dir(path) || slices.Contains(names, o.ident) {
				continue
			}
			if o.word.Match(src) {
				names = append(names, o.ident)
			}
		}
		if len(names) > 0 {
			sort.Strings(names)
			out = append(out, excludedMention{Path: path, Names: names})
		}
	}
	return out, nil
}

// isLocal reports whether obj is a variable declared inside a function.
func isLocal(obj types.Object) bool {
	v, ok := obj.(*types.Var)
	return ok && !v.IsField() && v.Parent() != nil && v.Pkg() != nil && v.Parent() != v.Pkg().Scope()
}

var ignoreTag = regexp.MustCompile(`(?m)^//go:build ignore\s*$`)

// excludedFiles lists the .go files of the module rooted at root that the
// build contexts of this run (each platform, or the host's GOOS and GOARCH,
// with the given tags) all leave out, test files included. It skips what
// the go command skips in ./...: vendor, testdata, directories starting
// with . or _, and nested modules.
func excludedFiles(root string, tags, platforms []string) ([]string, error) {
	var contexts []build.Context
	for _, p := range platforms {
		ctx := build.Default
		ctx.GOOS, ctx.GOARCH, _ = strings.Cut(p, "/")
		ctx.CgoEnabled = ctx.GOOS == build.Default.GOOS && ctx.GOARCH == build.Default.GOARCH && build.Default.CgoEnabled
		contexts = append(contexts, ctx)
	}
	if len(contexts) == 0 {
		contexts = append(contexts, build.Default)
	}
	for i := range contexts {
		contexts[i].BuildTags = append([]string{}, tags...)
	}
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != root {
			name := d.Name()
			if name == "vendor" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
				return filepath.SkipDir
			}
		}
		excluded := map[string]int{}
		for _, ctx := range contexts {
			pkg, _ := ctx.ImportDir(path, build.ImportComment) // a directory without Go files is no error here
			if pkg == nil {
				return nil
			}
			for _, f := range pkg.IgnoredGoFiles {
				excluded[f]++
			}
		}
		for f, n := range excluded {
			if n == len(contexts) {
				files = append(files, filepath.Join(path, f))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list files excluded by build constraints: %w", err)
	}
	sort.Strings(files)
	return files, nil
}

// warnExcluded prints one warning per excluded file that mentions a
// rewritten object.
func warnExcluded(w io.Writer, dir string, mentions []excludedMention) {
	var b bytes.Buffer
	for _, m := range mentions {
		fmt.Fprintf(&b, "safemapfix: warning: %s is excluded by build constraints (another GOOS or GOARCH, or build tags) and mentions %s, rewritten here; it was not analysed and may no longer build where it is included (check with GOOS=... go vet or --tags)\n",
			relPath(dir, m.Path), strings.Join(m.Names, ", "))
	}
	w.Write(b.Bytes())
}
