// Package emit turns file changes into output: a unified diff for review,
// or files written in place, safely.
//
// Writing follows three rules. Every file is checked against the content
// the change was computed from before any file is written, so a file edited
// meanwhile is never overwritten. Each file is replaced atomically (a
// temporary file in the same directory, then a rename), keeping its mode.
// If a write fails part way, the files already written are put back, so a
// run never leaves a half-rewritten tree.
package emit

import (
	"bytes"
	"errors"
	"fmt"
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

// Written is a file that Write changed, with what it held before, so a
// caller can put it back (see Restore).
type Written struct {
	Path string
	// Old is the previous content; nil when the file was created.
	Old  []byte
	Mode fs.FileMode
}

// Write applies the changes. It first checks that every file still holds
// the content the change was computed from, and that files to create do not
// exist; if any check fails, nothing is written. It returns the files it
// wrote. On a failed write it restores the files already written and
// returns the error.
func Write(changes []Change) ([]Written, error) {
	var stale []string
	modes := make([]fs.FileMode, len(changes))
	for i, c := range changes {
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
			if err := os.MkdirAll(filepath.Dir(c.Path), 0o755); err != nil {
				return nil, rollback(written, fmt.Errorf("create directory for %s: %w", c.Path, err))
			}
		}
		if err := writeAtomic(c.Path, c.New, modes[i]); err != nil {
			return nil, rollback(written, err)
		}
		written = append(written, Written{Path: c.Path, Old: c.Old, Mode: modes[i]})
	}
	return written, nil
}

// RefusedError reports files that cannot be written safely: changed
// between loading and writing, or read-only.
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

// Restore puts written files back as they were: previous content and mode,
// and files that were created are removed.
func Restore(written []Written) error {
	var errs []error
	for i := len(written) - 1; i >= 0; i-- {
		w := written[i]
		if w.Old == nil {
			if err := os.Remove(w.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
			continue
		}
		if err := writeAtomic(w.Path, w.Old, w.Mode); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
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
