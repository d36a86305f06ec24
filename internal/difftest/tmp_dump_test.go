package difftest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTmpDump(t *testing.T) {
	dir := os.Getenv("DUMPDIR")
	if dir == "" {
		t.Skip()
	}
	p := Generate(Options{Seed: *seedFlag, Cases: *casesFlag, Known: *knownFlag})
	os.MkdirAll(dir, 0o755)
	for n, d := range p.Files() {
		os.WriteFile(filepath.Join(dir, n), d, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "only.txt"), []byte(joinComma(p.Only())), 0o644)
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}
