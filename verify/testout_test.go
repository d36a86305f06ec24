package verify

import (
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/safemapfix/safemapfix/racelog"
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

func TestCompareRaces(t *testing.T) {
	report := func(fn1, fn2 string) string {
		return "==================\nWARNING: DATA RACE\nWrite at 0x1 by goroutine 7:\n  runtime.mapassign_faststr()\n      /go/src/internal/runtime/maps/runtime_faststr.go:263 +0x0\n  " +
			fn1 + "()\n      /m/x.go:3 +0x1\n\nPrevious read at 0x1 by goroutine 6:\n  runtime.mapaccess1_faststr()\n      /go/src/internal/runtime/maps/runtime_faststr.go:101 +0x0\n  " +
			fn2 + "()\n      /m/x.go:4 +0x1\n==================\n"
	}
	parse := func(s string) []*racelog.Report {
		log, err := racelog.Parse(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return log.MapReports()
	}
	before := parse(report("example.com/m/a.Put", "example.com/m/a.Get") +
		report("example.com/m/a_test.TestX.func1", "example.com/m/a.Get") +
		report("example.com/m/unchecked.F", "example.com/m/unchecked.G") +
		report("example.com/m/b.Put", "example.com/m/b.Get"))
	after := parse(report("example.com/m/b.Get", "example.com/m/b.Put") + report("example.com/m/c.New", "example.com/m/c.Old"))
	d := compareRaces(onlyIn(before, []string{"example.com/m/a", "example.com/m/b", "example.com/m/c"}), after, true)
	want := RaceDiff{
		Compared:  true,
		Fixed:     []string{"DATA RACE: example.com/m/a.Get vs example.com/m/a.Put", "DATA RACE: example.com/m/a.Get vs example.com/m/a_test.TestX.func1"},
		Remaining: []string{"DATA RACE: example.com/m/b.Get vs example.com/m/b.Put"},
		New:       []string{"DATA RACE: example.com/m/c.New vs example.com/m/c.Old"},
	}
	if !slices.Equal(d.Fixed, want.Fixed) || !slices.Equal(d.Remaining, want.Remaining) || !slices.Equal(d.New, want.New) {
		t.Errorf("got %+v\nwant %+v", d, want)
	}
	if got := d.String(); !strings.HasPrefix(got, "map races: 3 before, 2 after") {
		t.Errorf("String() = %q", got)
	}
}
