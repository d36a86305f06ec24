package racelog

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// FuzzParse checks that Parse never panics, and that what it returns is
// consistent with its input, on arbitrary text seeded with real logs.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(fixtureDir, "*.txtar"))
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(section(ar, "log"))
	}
	f.Add("WARNING: DATA RACE\nWrite at 0x1 by goroutine 1:\n  f()\n")
	f.Add("fatal error: concurrent map writes\n\ngoroutine 1 [running]:\nmain.f(...)\n\tx.go:1\ncreated by\n")
	f.Add("==================\nWARNING: DATA RACE\n  ()\n      :1 +0x0\n")
	f.Fuzz(func(t *testing.T, input string) {
		log, err := Parse(strings.NewReader(input))
		if err != nil {
			t.Fatalf("Parse returned an error on in-memory input: %v", err)
		}
		for _, r := range log.Reports {
			if r.Line < 1 {
				t.Errorf("report at line %d", r.Line)
			}
			_ = r.String()
			for _, a := range r.Accesses {
				for _, fr := range a.Stack {
					if fr.Func == "" || fr.Line < 0 {
						t.Errorf("bad frame %+v", fr)
					}
					_ = fr.Package()
				}
			}
		}
		if got := strings.Count(input, raceMarker) + strings.Count(input, crashMarker); len(log.Reports) > got {
			t.Errorf("%d reports from %d markers", len(log.Reports), got)
		}
	})
}
