package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// raceLoopCases are golden cases of different shapes (package variable,
// field, captured local, HTTP handler, timer callback, cross-package field,
// generic type, write under RLock) whose race test fails before the
// rewrite.
var raceLoopCases = []string{
	"pkgvar-goroutines",
	"field-server",
	"captured-local",
	"root-http-handler",
	"root-afterfunc",
	"cross-package",
	"generic-type",
	"write-under-rlock",
}

// TestRaceLogLoop runs the workflow of the README on real race reports:
// go test -race, then safemapfix --race-log --no-static --write
// --verify=race, which must fix exactly the reported maps so that the race
// test passes. A test that crashes with "concurrent map writes" reports
// only the map it crashed on, so a case with two racy maps can need a
// second round on the new report, as it would for a user; three rounds are
// allowed.
func TestRaceLogLoop(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the race detector twice per case")
	}
	cases := map[string]goldenCase{}
	for _, c := range readGolden(t) {
		cases[c.name] = c
	}
	for _, name := range raceLoopCases {
		c, ok := cases[name]
		if !ok {
			t.Fatalf("no golden case %s", name)
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := extractInput(t, c)
			var reports []string
			for round := 1; ; round++ {
				out := raceOutput(t, dir)
				logPath := filepath.Join(t.TempDir(), "race.log")
				if err := os.WriteFile(logPath, out, 0o644); err != nil {
					t.Fatal(err)
				}
				var stdout, stderr bytes.Buffer
				code := run(context.Background(), dir, []string{"--race-log", logPath, "--no-static", "--write", "--verify=race"}, nil, &stdout, &stderr)
				if code != exitClean {
					t.Fatalf("round %d: exit %d\n%s", round, code, stderr.String())
				}
				// --verify=race ran the race test on the result.
				if strings.Contains(stderr.String(), "0 after") {
					break
				}
				reports = append(reports, stderr.String())
				if round == 3 {
					t.Fatalf("verify did not report the races gone after %d rounds:\n%s", round, strings.Join(reports, "\n"))
				}
			}
		})
	}
}

// TestVerifyRestores checks that a fix which breaks a test is undone by
// --verify=race: every file is back as it was, and nothing is left behind.
func TestVerifyRestores(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the race detector")
	}
	dir := writeModule(t, `-- go.mod --
module example.com/typed

go 1.24
-- typed.go --
package typed

import "sync"

var seen = map[int]bool{}

func Mark(n int) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); seen[i] = true }()
	}
	wg.Wait()
}
-- typed_test.go --
package typed

import (
	"fmt"
	"testing"
)

// TestType depends on the map's type, which the fix changes.
func TestType(t *testing.T) {
	if got := fmt.Sprintf("%T", seen); got != "map[int]bool" {
		t.Fatal(got)
	}
}
`)
	before := snapshot(t, dir)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), dir, []string{"--write", "--verify=race"}, nil, &stdout, &stderr)
	if code != exitError {
		t.Fatalf("exit %d, want %d\n%s", code, exitError, stderr.String())
	}
	if !strings.Contains(stderr.String(), "TestType") {
		t.Errorf("the failing test is not named:\n%s", stderr.String())
	}
	after := snapshot(t, dir)
	if len(after) != len(before) {
		t.Errorf("files differ after restore: %d before, %d after", len(before), len(after))
	}
	for p, b := range before {
		if after[p] != b {
			t.Errorf("%s not restored", p)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "internal")); !os.IsNotExist(err) {
		t.Errorf("placed directory left behind: %v", err)
	}
}

// extractInput writes the input module of a golden case into a new
// directory.
func extractInput(t *testing.T, c goldenCase) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range c.archive.Files {
		if strings.HasPrefix(f.Name, "want/") || f.Name == "list" {
			continue
		}
		path := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
