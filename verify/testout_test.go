package verify

import (
	"slices"
	"testing"

	"golang.org/x/tools/txtar"
)

func TestTestFailures(t *testing.T) {
	ar, err := txtar.ParseFile("testdata/testout.txtar")
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{}
	for _, f := range ar.Files {
		outputs[f.Name] = string(f.Data)
	}
	for _, tc := range []struct {
		name   string
		output string
		want   []string // failure names, "race:" for race-only ones
	}{
		{"plain", outputs["plain"], []string{
			"race:example.com/tf/p.TestRaceOnly",
			"example.com/tf/p.TestReal",
			"example.com/tf/p.TestSub/bad",
			"example.com/tf/q.TestPanic",
		}},
		{"verbose", outputs["verbose"], []string{
			"race:example.com/tf/p.TestRaceOnly",
			"example.com/tf/p.TestReal",
			"example.com/tf/p.TestSub/bad",
		}},
		{"build failure", "# example.com/x\nx/x.go:3:1: syntax error\nFAIL\texample.com/x [build failed]\n", []string{"example.com/x"}},
		{"race outside tests", "PASS\n==================\nWARNING: DATA RACE\n==================\nFAIL\texample.com/y\t0.1s\n", nil},
		{"all pass", "ok  \texample.com/z\t0.1s\n?   \texample.com/w\t[no test files]\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, f := range testFailures(tc.output) {
				name := f.name
				if f.raceOnly {
					name = "race:" + name
				}
				got = append(got, name)
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got %q\nwant %q", got, want)
			}
		})
	}
}
