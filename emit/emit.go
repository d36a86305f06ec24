// Package emit turns file changes into output: a unified diff for review,
// or files written in place, safely.
//
// Writing follows four rules. Only files of the main module are written:
// never the Go distribution, the module cache or vendored copies, which
// belong to someone else and are overwritten by the go command. Every file
// is checked against the content the change was computed from before any
// file is written, so a file edited meanwhile is never overwritten. Each file is replaced atomically (a
// temporary file in the same directory, then a rename), keeping its mode.
// If a write fails part way, the files already written are put back, so a
// run never leaves a half-rewritten tree.
package emit

import (
	"bytes"
	"errors"
	"fmt"
	"go/build"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rogpeppe/go-internal/diff"
)

// Change is one file to create or replace.
type Change struct {
	// Path is absolute.
	Path string
	// Old is the content the change was computed from; nil for a file to
	// create.
	Old []byte
	New []byte
}

// Diff writes a unified diff of the changes to w, with paths relative to
// dir in a/ and b/ form (as git prints them, so the output applies with
// git apply or patch -p1).
func Diff(w io.Writer, dir string, changes []Change) error {
	for _, c := range changes {
		rel := relative(dir, c.Path)
		oldName := "a/" + rel
		if c.Old == nil {
			oldName = "/dev/null"
		}
		d := diff.Diff(oldName, c.Old, "b/"+rel, c.New)
		if _, err := w.Write(d); err != nil {
			return err
		}
	}
	return nil
}

func relative(dir, path string) string {
	if dir != "" {
		if rel, err := filepath.Rel(dir, path); err == nil && !filepath.IsAbs(rel) && !startsWithDotDot(rel) {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.ToSlash(path)
}

func startsWithDotDot(rel string) bool {
	return rel == ".." || len(rel) > 2 && rel[:3] == ".."+string(filepath.Separator)
}

// Write applies the changes to files of the module rooted at root. It
// first checks that every file lies in that module (see Outside), still
// holds the content the change was computed from, and that files to create
// do not exist; if any check fails, nothing is written. It returns what
// it wrote and created, directories included, for Restore. On a failed
// write it restores what it already wrote and returns the error.
func Write(root string, changes []Change) ([]Written, error) {
	var stale []string
	modes := make([]fs.FileMode, len(changes))
	for i, c := range changes {
		if why := Outside(root, c.Path); why != "" {
			stale = append(stale, fmt.Sprintf("%s: %s", c.Path, why))
			continue
		}
		cur, err := os.ReadFile(c.Path)
		switch {
		case c.Old == nil && err == nil:
			stale = append(stale, fmt.Sprintf("%s: exists now, but did not when safemapfix loaded the code", c.Path))
		case c.Old == nil && errors.Is(err, fs.ErrNotExist):
			modes[i] = 0o644
		case err != nil:
			return nil, fmt.Errorf("read %s: %w", c.Path, err)
		case !bytes.Equal(cur, c.Old):
			stale = append(stale, fmt.Sprintf("%s: changed on disk since safemapfix loaded it", c.Path))
		default:
			st, err := os.Stat(c.Path)
			if err != nil {
				return nil, err
			}
			if st.Mode().Perm()&0o200 == 0 {
				stale = append(stale, fmt.Sprintf("%s: is read-only; make it writable (chmod u+w) to let safemapfix rewrite it", c.Path))
			}
			modes[i] = st.Mode().Perm()
		}
	}
	if len(stale) > 0 {
		return nil, &RefusedError{Files: stale}
	}
	var written []Written
	for i, c := range changes {
		if c.Old == nil {
			created, err := SnapshotWithDirs(c.Path)
			if err != nil {
				return nil, rollback(written, err)
			}
			written = append(written, created...)
			if err := os.MkdirAll(filepath.Dir(c.Path), 0o755); err != nil {
				return nil, rollback(written, fmt.Errorf("create directory for %s: %w", c.Path, err))
			}
		} else {
			written = append(written, Written{Path: c.Path, Old: c.Old, Mode: modes[i]})
		}
		if err := writeAtomic(c.Path, c.New, modes[i]); err != nil {
			return nil, rollback(written, err)
		}
	}
	return written, nil
}

// Outside says why path is not a file of the module rooted at root that
// safemapfix may write, or returns "" when it is. Files of the Go
// distribution and the module cache are refused even when root lies among
// them (safemapfix run inside a downloaded module), as are vendored copies:
// the go command replaces all of them, so a fix there is lost, and it
// would change code that other modules share.
func Outside(root, path string) string {
	path = filepath.Clean(path)
	if goroot := build.Default.GOROOT; goroot != "" && within(goroot, path) {
		return "is part of the Go distribution (GOROOT); safemapfix writes only files of the main module"
	}
	if cache := moduleCache(); cache != "" && within(cache, path) {
		return "is in the module cache; safemapfix writes only files of the main module (copy the module out of the cache to fix it)"
	}
	if root == "" || !within(root, path) {
		return "is outside the main module; safemapfix writes only files of the main module"
	}
	if within(filepath.Join(root, "vendor"), path) {
		return "is vendored code; fix it in the module it comes from, then run go mod vendor"
	}
	return ""
}

// within reports whether path is dir or lies below it.
func within(dir, path string) bool {
	rel, err := filepath.Rel(filepath.Clean(dir), path)
	return err == nil && !filepath.IsAbs(rel) && !startsWithDotDot(rel)
}

// moduleCache is the module cache directory, as the go command computes it
// when GOMODCACHE is not set.
func moduleCache() string {
	if c := os.Getenv("GOMODCACHE"); c != "" {
		return filepath.Clean(c)
	}
	gopath := filepath.SplitList(build.Default.GOPATH)
	if len(gopath) == 0 || gopath[0] == "" {
		return ""
	}
	return filepath.Join(gopath[0], "pkg", "mod")
}

// RefusedError reports files that cannot be written safely: outside the
// main module, changed between loading and writing, or read-only.
type RefusedError struct {
	Files []string
}

func (e *RefusedError) Error() string {
	msg := "nothing was written, because these files cannot be written safely:"
	for _, f := range e.Files {
		msg += "\n\t" + f
	}
	return msg
}

func rollback(written []Written, cause error) error {
	if err := Restore(written); err != nil {
		return fmt.Errorf("%w; restoring the files already written also failed: %v", cause, err)
	}
	return fmt.Errorf("%w (the files already written were restored)", cause)
}

// writeAtomic replaces path with data through a temporary file in the same
// directory, so readers see the old or the new content, never a mix.
func writeAtomic(path string, data []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".safemapfix-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ANSI colours of a diff, as git diff --color uses them.
const (
	colorBold  = "\x1b[1m"
	colorCyan  = "\x1b[36m"
	colorRed   = "\x1b[31m"
	colorGreen = "\x1b[32m"
	colorReset = "\x1b[0m"
)

// Colorize returns a unified diff with ANSI colours for a terminal: file
// headers bold, hunk headers cyan, removed lines red, added lines green.
func Colorize(diff []byte) []byte {
	var b bytes.Buffer
	for len(diff) > 0 {
		line := diff
		if i := bytes.IndexByte(diff, '\n'); i >= 0 {
			line = diff[:i+1]
		}
		diff = diff[len(line):]
		text := bytes.TrimSuffix(line, []byte("\n"))
		color := ""
		switch {
		case bytes.HasPrefix(text, []byte("--- ")), bytes.HasPrefix(text, []byte("+++ ")), bytes.HasPrefix(text, []byte("diff ")):
			color = colorBold
		case bytes.HasPrefix(text, []byte("@@")):
			color = colorCyan
		case bytes.HasPrefix(text, []byte("-")):
			color = colorRed
		case bytes.HasPrefix(text, []byte("+")):
			color = colorGreen
		}
		if color == "" {
			b.Write(line)
			continue
		}
		b.WriteString(color)
		b.Write(text)
		b.WriteString(colorReset)
		b.Write(line[len(text):])
	}
	return b.Bytes()
}
