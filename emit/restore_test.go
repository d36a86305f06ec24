package emit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestRestore(t *testing.T) {
	dir := t.TempDir()
	kept := filepath.Join(dir, "kept.go")
	if err := os.WriteFile(kept, []byte("old\r\nbytes\x00"), 0o751); err != nil {
		t.Fatal(err)
	}
	w1, err := Snapshot(kept)
	if err != nil {
		t.Fatal(err)
	}
	newDir := filepath.Join(dir, "new", "deeper")
	created := filepath.Join(newDir, "created.go")
	w2, err := SnapshotWithDirs(created)
	if err != nil {
		t.Fatal(err)
	}
	if w1.Created || len(w2) != 3 || !w2[0].Created || !w2[1].Created || !w2[2].Created {
		t.Fatalf("Snapshot: %+v, SnapshotWithDirs: %+v", w1, w2)
	}
	if err := os.MkdirAll(newDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{kept, created} {
		if err := os.WriteFile(path, []byte("new"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(kept, 0o644); err != nil {
		t.Fatal(err)
	}
	all := append([]Written{w1}, w2...)
	for round := range 2 { // restoring twice is harmless
		if err := Restore(all); err != nil {
			t.Fatalf("Restore (round %d): %v", round, err)
		}
		b, err := os.ReadFile(kept)
		if err != nil || string(b) != "old\r\nbytes\x00" {
			t.Errorf("kept.go after Restore = %q, %v", b, err)
		}
		if st, err := os.Stat(kept); err != nil || st.Mode().Perm() != 0o751 {
			t.Errorf("kept.go mode after Restore: %v, %v; want 0751", st.Mode(), err)
		}
		if _, err := os.Stat(filepath.Join(dir, "new")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("created directory left after Restore: %v", err)
		}
	}
}
