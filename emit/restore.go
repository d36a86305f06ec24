package emit

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// Written is a file or directory as it was before a run wrote it, so
// that the write can be undone (see Restore). Write returns one for every
// path it wrote or created.
type Written struct {
	// Path is the file's path; absolute paths are safest.
	Path string
	// Old is the file's content before the write. Unused when Created.
	Old []byte
	// Mode is the file's mode before the write, or the mode the run
	// gave a directory it created (fs.ModeDir set).
	Mode fs.FileMode
	// Created is true when the path did not exist before the run: undoing
	// the write removes it (a directory only when it is empty).
	Created bool
}

// Snapshot records the state of path before a run writes it. A path that
// does not exist is recorded as Created. Call it for every file (and
// every directory the run creates) before writing, and keep the results
// for Restore.
func Snapshot(path string) (Written, error) {
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Written{Path: path, Created: true}, nil
	}
	if err != nil {
		return Written{}, fmt.Errorf("snapshot %s: %w", path, err)
	}
	if info.IsDir() {
		return Written{Path: path, Mode: info.Mode()}, nil
	}
	if !info.Mode().IsRegular() {
		return Written{}, fmt.Errorf("snapshot %s: not a regular file", path)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		return Written{}, fmt.Errorf("snapshot %s: %w", path, err)
	}
	return Written{Path: path, Old: old, Mode: info.Mode()}, nil
}

// SnapshotWithDirs is Snapshot for a file that may be created in
// directories that do not exist yet: it records every missing ancestor
// directory (outermost first) as created, then the file itself, so that
// Restore removes the whole new tree.
func SnapshotWithDirs(path string) ([]Written, error) {
	var missing []string
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if _, err := os.Lstat(dir); err == nil {
			break
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("snapshot %s: %w", dir, err)
		}
		missing = append(missing, dir)
		if filepath.Dir(dir) == dir {
			break
		}
	}
	var out []Written
	for i := len(missing) - 1; i >= 0; i-- {
		out = append(out, Written{Path: missing[i], Mode: fs.ModeDir, Created: true})
	}
	w, err := Snapshot(path)
	if err != nil {
		return nil, err
	}
	return append(out, w), nil
}

// Restore undoes a run's writes: every file that existed gets its old
// content and mode back, byte for byte, and every path the run created is
// removed (directories only once empty, deepest first). Each file is
// replaced atomically (a temporary file in the same directory, renamed
// over it). Restore carries on past failures and returns them all.
func Restore(files []Written) error {
	var errs []error
	var createdDirs []string
	done := map[string]bool{}
	for _, w := range files {
		// A path may be listed more than once (a directory created for
		// several files); its first record is its state before the run.
		if done[w.Path] {
			continue
		}
		done[w.Path] = true
		switch {
		case w.Created:
			info, err := os.Lstat(w.Path)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("restore %s: %w", w.Path, err))
				continue
			}
			if info.IsDir() {
				createdDirs = append(createdDirs, w.Path)
				continue
			}
			if err := os.Remove(w.Path); err != nil {
				errs = append(errs, fmt.Errorf("restore %s: remove created file: %w", w.Path, err))
			}
		case w.Mode.IsDir():
			// An existing directory: nothing was written to the entry itself.
		default:
			if err := writeBack(w); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// Deepest first, so a created tree goes away bottom up.
	sort.Slice(createdDirs, func(i, j int) bool { return len(createdDirs[i]) > len(createdDirs[j]) })
	for _, dir := range createdDirs {
		if err := os.Remove(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("restore %s: remove created directory: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// writeBack puts w's old content and mode back atomically, unless the
// file already has them.
func writeBack(w Written) error {
	if info, err := os.Lstat(w.Path); err == nil && info.Mode() == w.Mode {
		if cur, err := os.ReadFile(w.Path); err == nil && bytes.Equal(cur, w.Old) {
			return nil
		}
	}
	if err := writeAtomic(w.Path, w.Old, w.Mode); err != nil {
		return fmt.Errorf("restore %s: %w", w.Path, err)
	}
	return nil
}
