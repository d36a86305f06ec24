package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/diff"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the expected outputs of testdata/golden from what safemapfix produces")

// A golden case is a txtar archive in testdata/golden: a small module, the
// files safemapfix must produce, and what it must print. See
// testdata/golden/README.md for the format.
type goldenCase struct {
	name    string
	path    string
	archive *txtar.Archive
	args    []string // extra flags, from "# args:" in the comment
	racy    bool     // "# racy": the input's tests fail under -race, the output's pass
	exit    int      // exit status of --write, from "# exit:"; default 0
}

func readGolden(t *testing.T) []goldenCase {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "golden", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no golden cases found")
	}
	var cases []goldenCase
	for _, p := range paths {
		ar, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		c := goldenCase{name: strings.TrimSuffix(filepath.Base(p), ".txtar"), path: p, archive: ar}
		for _, line := range strings.Split(string(ar.Comment), "\n") {
			switch {
			case strings.HasPrefix(line, "# args:"):
				c.args = strings.Fields(strings.TrimPrefix(line, "# args:"))
			case strings.TrimSpace(line) == "# racy":
				c.racy = true
			case strings.HasPrefix(line, "# exit:"):
				c.exit, err = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "# exit:")))
				if err != nil {
					t.Fatalf("%s: bad # exit line: %v", p, err)
				}
			}
		}
		cases = append(cases, c)
	}
	return cases
}

// TestGolden runs every golden case: the findings listed, the files
// written, the rewritten module built, vetted and (for racy cases) race
// tested, and a second run that must change nothing.
func TestGolden(t *testing.T) {
	for _, c := range readGolden(t) {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runGolden(t, c)
		})
	}
}

func runGolden(t *testing.T, c goldenCase) {
	dir := extractInput(t, c)
	input := map[string][]byte{}
	want := map[string][]byte{}
	sections := map[string]string{}
	for _, f := range c.archive.Files {
		switch {
		case strings.HasPrefix(f.Name, "want/"):
			want[strings.TrimPrefix(f.Name, "want/")] = f.Data
		case f.Name == "list":
			sections[f.Name] = string(f.Data)
		default:
			input[f.Name] = f.Data
		}
	}
	ctx := context.Background()

	// The findings, as --list prints them.
	var stdout, stderr bytes.Buffer
	listExit := run(ctx, dir, append([]string{"--list"}, c.args...), nil, &stdout, &stderr)
	if listExit == exitError {
		t.Fatalf("safemapfix --list failed:\n%s", stderr.String())
	}
	gotList := stdout.String()
	listSummary := stderr.String()

	// The rewrite, as --write does it.
	stdout.Reset()
	stderr.Reset()
	if got := run(ctx, dir, append([]string{"--write"}, c.args...), nil, &stdout, &stderr); got != c.exit {
		t.Fatalf("safemapfix --write exited %d, want %d\nstderr:\n%s", got, c.exit, stderr.String())
	}
	got := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "internal/safemap/") && input[rel] == nil {
			return nil // the placed safe map package, checked by building
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if old, ok := input[rel]; !ok || !bytes.Equal(old, b) {
			got[rel] = b
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if *update {
		updateGolden(t, c, gotList, got)
		return
	}
	if wantList := sections["list"]; gotList != wantList {
		t.Errorf("--list output differs:\n%s", diff.Diff("want", []byte(wantList), "got", []byte(gotList)))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: expected a change, but the file was left as it was", name)
			continue
		}
		if !bytes.Equal(g, w) {
			t.Errorf("%s differs from want/%s:\n%s", name, name, diff.Diff("want", w, "got", g))
		}
	}
	for name, g := range got {
		if old, ok := input[name]; ok && strings.HasSuffix(name, ".go") {
			for _, c := range lostComments(t, old, g) {
				t.Errorf("%s: comment %q lost by the rewrite", name, c)
			}
		}
	}
	// --list only plans the rewrite; the files it says would change are
	// those --write changed.
	if m := wouldChange.FindStringSubmatch(listSummary); m == nil {
		if len(got) > 0 {
			t.Errorf("--list says no file would change, but --write changed %d:\n%s", len(got), listSummary)
		}
	} else if n, _ := strconv.Atoi(m[1]); n != len(got) {
		t.Errorf("--list says %d file(s) would change, but --write changed %d:\n%s", n, len(got), listSummary)
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s: changed, but the case has no want/%s:\n%s", name, name, diff.Diff("input", input[name], "got", got[name]))
		}
	}

	// The output must build and pass vet; racy cases must pass -race. One
	// go test -race -vet=all does all three.
	if c.racy && !testing.Short() {
		goCmd(t, dir, "test", "-race", "-vet=all", "-count=1", "./...")
	} else {
		goCmd(t, dir, "vet", "./...")
		goCmd(t, dir, "build", "./...")
	}

	// A second run changes nothing.
	stdout.Reset()
	stderr.Reset()
	if code := run(ctx, dir, append([]string{"--dry-run"}, c.args...), nil, &stdout, &stderr); stdout.Len() > 0 || code == exitError {
		t.Errorf("second run (exit %d) is not a no-op:\n%s\n%s", code, stdout.String(), stderr.String())
	}
}

// wouldChange finds, in the summary --list prints, the number of files the
// rewrite would change.
var wouldChange = regexp.MustCompile(`would change (\d+) file`)

// TestGoldenInputsRace checks that the racy golden inputs really race: their
// tests fail under the race detector before the rewrite. Without this, a
// race test passing after the rewrite would prove nothing.
func TestGoldenInputsRace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every racy case with -race")
	}
	for _, c := range readGolden(t) {
		if !c.racy {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			raceOutput(t, extractInput(t, c))
		})
	}
}

// raceOutput runs the module's tests under the race detector and returns
// their output; the test fails unless they fail with a race.
func raceOutput(t *testing.T, dir string) []byte {
	t.Helper()
	cmd := exec.Command("go", "test", "-race", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = goEnv()
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the tests pass under -race, so the case does not show a race:\n%s", out)
	}
	if !bytes.Contains(out, []byte("DATA RACE")) && !bytes.Contains(out, []byte("concurrent map")) {
		t.Fatalf("the tests fail, but not with a race:\n%s", out)
	}
	return out
}

func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = goEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// goEnv runs the go command offline: golden modules have no dependencies
// but the standard library and the placed safe map package.
func goEnv() []string {
	return append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
}

// updateGolden rewrites the case's archive: its want/ files and its list
// section become what safemapfix produced now.
func updateGolden(t *testing.T, c goldenCase, list string, got map[string][]byte) {
	var files []txtar.File
	for _, f := range c.archive.Files {
		if strings.HasPrefix(f.Name, "want/") || f.Name == "list" {
			continue
		}
		files = append(files, f)
	}
	files = append(files, txtar.File{Name: "list", Data: []byte(list)})
	var names []string
	for name := range got {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		files = append(files, txtar.File{Name: "want/" + name, Data: got[name]})
	}
	ar := &txtar.Archive{Comment: c.archive.Comment, Files: files}
	if err := os.WriteFile(c.path, txtar.Format(ar), 0o644); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("updated %s\n", c.path)
}

// lostComments returns the comments of the old source that the new source
// no longer has, counting repeated comments.
func lostComments(t *testing.T, old, new []byte) []string {
	t.Helper()
	count := func(src []byte) map[string]int {
		f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, parser.ParseComments)
		if err != nil {
			t.Fatalf("parse: %v", err)
		}
		n := map[string]int{}
		for _, g := range f.Comments {
			for _, c := range g.List {
				n[c.Text]++
			}
		}
		return n
	}
	have := count(new)
	var lost []string
	for text, n := range count(old) {
		if have[text] < n {
			lost = append(lost, text)
		}
	}
	sort.Strings(lost)
	return lost
}
