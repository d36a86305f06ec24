package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/safemapfix/safemapfix"
	"github.com/safemapfix/safemapfix/report"
)

const racyModule = `-- go.mod --
module example.com/m

go 1.24
-- m.go --
package m

var seen = map[int]bool{}

func Mark(n int) {
	for i := 0; i < n; i++ {
		go func() { seen[i] = true }()
	}
}
-- other.go --
package m

func Other() int { return 1 }
`

const cleanModule = `-- go.mod --
module example.com/m

go 1.24
-- m.go --
package m

var table = map[int]bool{1: true}

func Has(n int) bool { return table[n] }
`

// writeModule writes a module given in txtar-like form into a new
// directory and returns it.
func writeModule(t *testing.T, archive string) string {
	t.Helper()
	dir := t.TempDir()
	parts := strings.Split(archive, "-- ")
	for _, p := range parts[1:] {
		name, content, _ := strings.Cut(p, " --\n")
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// snapshot reads every file below dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(path)
			files[path] = string(b)
		}
		return nil
	})
	return files
}

// TestExitCodes checks the exit status of every mode, as documented in
// doc.go, and that failing runs touch no file.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		name      string
		module    string
		args      []string
		want      int
		stdout    string // substring expected on stdout
		stderr    string // substring expected on stderr
		unchanged bool   // no file may change
	}{
		{"dry-run with a diff", racyModule, nil, exitFindings, "+++ b/m.go", "1 fixed", true},
		{"explicit dry-run", racyModule, []string{"-d", "./..."}, exitFindings, "seen.Store(i, true)", "", true},
		{"list with findings", racyModule, []string{"--list"}, exitFindings, "m.go:3:5: example.com/m.seen: race", "", true},
		{"write fixes everything", racyModule, []string{"--write"}, exitClean, "", "changed 1 file", false},
		{"clean dry-run", cleanModule, nil, exitClean, "", "", true},
		{"clean list", cleanModule, []string{"-l"}, exitClean, "", "", true},
		{"clean write", cleanModule, []string{"-w"}, exitClean, "", "", true},
		{"conflicting modes", racyModule, []string{"--write", "--list"}, exitError, "", "none of the others can be", true},
		{"unknown flag", racyModule, []string{"--frobnicate"}, exitError, "", "unknown flag", true},
		{"unknown pattern", racyModule, []string{"example.com/nothere"}, exitError, "", "example.com/nothere", true},
		{"unknown --only name", racyModule, []string{"--only", "example.com/m.sen"}, exitError, "", "did you mean example.com/m.seen", true},
		{"bad --min-confidence", racyModule, []string{"--min-confidence", "maybe"}, exitError, "", "proven or assumed", true},
		{"file argument", racyModule, []string{"m.go"}, exitFindings, "seen.Store", "", true},
		{"file argument without findings", racyModule, []string{"other.go"}, exitClean, "", "", true},
		{"missing file argument", racyModule, []string{"gone.go"}, exitError, "", "gone.go", true},
		{"syntax error", racyModule + "-- bad.go --\npackage m\n\nfunc {\n", []string{"-w"}, exitError, "", "bad.go:3:6", true},
		{"type error", racyModule + "-- bad.go --\npackage m\n\nvar x int = \"s\"\n", []string{"-w"}, exitError, "", "bad.go:3:13", true},
		{"go version too old", strings.Replace(racyModule, "go 1.24", "go 1.21", 1), []string{"-w"}, exitError, "", "change the go line in go.mod to 1.24", true},
		{"sarif", racyModule, []string{"--format=sarif"}, exitFindings, `"ruleId": "safemapfix/race"`, "1 fixed", true},
		{"json and format together", racyModule, []string{"--json", "--format=sarif"}, exitError, "", "none of the others can be", true},
		{"unknown format", racyModule, []string{"--format=xml"}, exitError, "", "text, json or sarif", true},
		{"unknown colour mode", racyModule, []string{"--color=sometimes"}, exitError, "", "auto, always or never", true},
		{"colour always", racyModule, []string{"--color=always"}, exitFindings, "\x1b[32m+", "", true},
		{"files of two modules", racyModule + "-- other/go.mod --\nmodule example.com/o\n\ngo 1.24\n-- other/o.go --\npackage o\n", []string{"m.go", "other/o.go"}, exitError, "", "different modules", true},
		{"old go version, nothing to fix", strings.Replace(cleanModule, "go 1.24", "go 1.21", 1), []string{"-w"}, exitClean, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := writeModule(t, tt.module)
			before := snapshot(t, dir)
			var stdout, stderr bytes.Buffer
			got := run(context.Background(), dir, tt.args, nil, &stdout, &stderr)
			if got != tt.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", got, tt.want, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout does not contain %q:\n%s", tt.stdout, stdout.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr does not contain %q:\n%s", tt.stderr, stderr.String())
			}
			after := snapshot(t, dir)
			changed := len(before) != len(after)
			for p, b := range before {
				if after[p] != b {
					changed = true
				}
			}
			if tt.unchanged && changed {
				t.Errorf("files changed")
			}
			if !tt.unchanged && !changed {
				t.Errorf("no file changed")
			}
		})
	}
}

// runJSON runs safemapfix --json in dir, which must find something, and
// returns the document it printed and its stderr.
func runJSON(t *testing.T, dir string) (report.JSONReport, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if got := run(context.Background(), dir, []string{"--json"}, nil, &stdout, &stderr); got != exitFindings {
		t.Fatalf("exit %d\n%s", got, stderr.String())
	}
	var doc report.JSONReport
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout.String())
	}
	return doc, stderr.String()
}

// TestJSON checks that --json prints one document with the findings and
// the diffs.
func TestJSON(t *testing.T) {
	doc, _ := runJSON(t, writeModule(t, racyModule))
	if len(doc.Findings) != 1 || doc.Findings[0].Name != "example.com/m.seen" || !doc.Findings[0].Fixed || len(doc.Findings[0].Pair) != 2 {
		t.Errorf("findings: %+v", doc.Findings)
	}
	var sawM, sawWrapper bool
	for _, f := range doc.Files {
		switch {
		case f.Path == "m.go":
			sawM = strings.Contains(f.Diff, "+\t\tgo func() { seen.Store(i, true) }()")
		case strings.HasPrefix(f.Path, "internal/safemap/"):
			sawWrapper = f.Created
		}
	}
	if !sawM || !sawWrapper {
		t.Errorf("files: %+v", doc.Files)
	}
}

// testOnlyModule's map is guarded by s.mu everywhere but in its test.
const testOnlyModule = `-- go.mod --
module example.com/srv

go 1.24
-- srv.go --
package srv

import "sync"

type Server struct {
	mu      sync.Mutex
	clients map[int]string
	conns   chan int
}

func New() *Server {
	s := &Server{clients: map[int]string{}, conns: make(chan int)}
	go s.accept()
	return s
}

func (s *Server) accept() {
	for id := range s.conns {
		s.mu.Lock()
		s.clients[id] = "client"
		s.mu.Unlock()
	}
}

func (s *Server) Connect(id int) { s.conns <- id }
-- srv_test.go --
package srv

import "testing"

func TestConnect(t *testing.T) {
	s := New()
	s.Connect(1)
	if len(s.clients) > 1 {
		t.Fatal("too many clients")
	}
}
`

// TestJSONTestOnly checks how a race only a test has is reported: in
// JSON with test_only and a refusal that says which lock the test lacks,
// counted in the summary, with no file changed and exit status 1.
func TestJSONTestOnly(t *testing.T) {
	doc, stderr := runJSON(t, writeModule(t, testOnlyModule))
	if len(doc.Findings) != 1 {
		t.Fatalf("findings: %+v", doc.Findings)
	}
	f := doc.Findings[0]
	if !f.TestOnly || f.Fixed || !strings.Contains(f.Refusal, "holds s.mu (Lock), the test's len at srv_test.go:8:8 none of them") {
		t.Errorf("finding: %+v", f)
	}
	if len(doc.Files) != 0 {
		t.Errorf("files changed: %+v", doc.Files)
	}
	if !strings.Contains(stderr, "1 not fixed (1 racing only in tests)") {
		t.Errorf("summary: %s", stderr)
	}
}

// TestHelp checks that --help prints the manual from doc.go and exits 0.
func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if got := run(context.Background(), t.TempDir(), []string{"--help"}, nil, &stdout, &stderr); got != exitClean {
		t.Fatalf("exit %d", got)
	}
	for _, want := range []string{"Exit status", "--dry-run", "--write", "1  findings or a non-empty diff"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

// TestWriteRefusesFileChangedMeanwhile edits a file between the analysis
// and the write, as an editor or a concurrent git checkout might: nothing
// is written, the exit status is 2, the message names the file, and the
// JSON document (which would claim fixes) is not printed.
func TestWriteRefusesFileChangedMeanwhile(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			dir := writeModule(t, racyModule)
			edited := "package m\n\nvar seen = map[int]bool{}\n\n// Mark was edited meanwhile.\nfunc Mark(n int) {}\n"
			beforeWrite = func() {
				if err := os.WriteFile(filepath.Join(dir, "m.go"), []byte(edited), 0o644); err != nil {
					t.Error(err)
				}
			}
			defer func() { beforeWrite = nil }()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), dir, []string{"--write", "--format=" + format, "./..."}, nil, &stdout, &stderr)
			if code != exitError {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitError, stderr.String())
			}
			if !strings.Contains(stderr.String(), "m.go: changed on disk since safemapfix loaded it") {
				t.Errorf("stderr does not name the changed file:\n%s", stderr.String())
			}
			if format == "json" && stdout.Len() > 0 {
				t.Errorf("a JSON document was printed for a refused write:\n%s", stdout.String())
			}
			want := writeModule(t, racyModule)
			got := snapshot(t, dir)
			if got[filepath.Join(dir, "m.go")] != edited {
				t.Errorf("m.go was overwritten:\n%s", got[filepath.Join(dir, "m.go")])
			}
			if len(got) != len(snapshot(t, want)) {
				t.Errorf("files were created or removed: %d files, want %d", len(got), len(snapshot(t, want)))
			}
		})
	}
}

// TestProgressPhases checks that every phase safemapfix.Run reports has a
// description for the progress line, in the order a run goes through them,
// and that a run for the findings alone (--list) plans the rewrite but does
// not type-check it.
func TestProgressPhases(t *testing.T) {
	dir := writeModule(t, racyModule)
	for _, tc := range []struct {
		findingsOnly bool
		want         []string
	}{
		{false, []string{"loading", "detecting", "rewriting", "checking"}},
		{true, []string{"loading", "detecting", "rewriting"}},
	} {
		var phases []string
		res, err := safemapfix.Run(context.Background(), safemapfix.Config{
			Dir:          dir,
			Patterns:     []string{"./..."},
			Progress:     func(p string) { phases = append(phases, p) },
			FindingsOnly: tc.findingsOnly,
		})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(phases, tc.want) {
			t.Errorf("FindingsOnly=%v: phases %q, want %q", tc.findingsOnly, phases, tc.want)
		}
		if res.Unfixed() == len(res.Findings) {
			t.Errorf("FindingsOnly=%v: no finding fixed: %+v", tc.findingsOnly, res.Findings)
		}
		for _, p := range phases {
			if phaseText[p] == "" {
				t.Errorf("phase %q has no description", p)
			}
		}
	}
}
