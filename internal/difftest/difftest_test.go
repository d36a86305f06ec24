package difftest

import (
	"context"
	"flag"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	seedFlag  = flag.Uint64("difftest.seed", 1, "seed of the generated program")
	casesFlag = flag.Int("difftest.n", 100, "number of cases in the generated program")
	knownFlag = flag.Bool("difftest.known", false, "also generate constructs the rewrite is known to get wrong")
)

// setEnv makes the go command that safemapfix.Run starts build the
// generated module offline.
func setEnv(t testing.TB) {
	for _, kv := range Env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// check runs the differential test on the program opts describe, and on a
// failure shrinks it and reports the smallest failing case.
func check(t testing.TB, opts Options) {
	setEnv(t)
	ctx := context.Background()
	ch := &Checker{Dir: t.TempDir(), Timeout: 2 * time.Minute}
	p := Generate(opts)
	t.Logf("difftest: seed %d, %d cases, %d map objects", opts.Seed, len(p.Cases), len(p.Only()))
	start := time.Now()
	o, err := ch.Check(ctx, p)
	if err != nil {
		t.Fatalf("seed %d: %v", opts.Seed, err)
	}
	t.Logf("difftest: checked in %v (before %v, rewrite %v, after %v)", time.Since(start).Round(time.Millisecond),
		o.Times[0].Round(time.Millisecond), o.Times[1].Round(time.Millisecond), o.Times[2].Round(time.Millisecond))
	logRefusals(t, o)
	if !o.Failed() {
		return
	}
	t.Logf("difftest: seed %d fails (%s); shrinking", opts.Seed, o.Kind)
	small, so, err := ch.Shrink(ctx, p, o, t.Logf)
	if err != nil {
		t.Fatalf("shrink: %v", err)
	}
	t.Fatalf("the rewrite changed the behaviour of a program; smallest failing case:\n%s", Report(small, so))
}

// logRefusals reports the objects left alone and why, grouped by reason.
func logRefusals(t testing.TB, o *Outcome) {
	reasons := map[string]int{}
	for _, r := range o.Refused {
		_, why, _ := strings.Cut(r, ": ")
		// Drop the position that starts most reasons.
		if i := strings.Index(why, ": "); i >= 0 && strings.Contains(why[:i], ".go:") {
			why = why[i+2:]
		}
		reasons[why]++
	}
	var lines []string
	for why, n := range reasons {
		lines = append(lines, why+" ×"+strconv.Itoa(n))
	}
	sort.Strings(lines)
	t.Logf("difftest: %d map objects rewritten, %d refused", o.Fixed, len(o.Refused))
	for _, l := range lines {
		t.Logf("  refused: %s", l)
	}
}

func TestDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs generated programs")
	}
	check(t, Options{Seed: *seedFlag, Cases: *casesFlag, Known: *knownFlag})
}

// FuzzDifferential generates a program from each seed and checks it; run
// it with go test -fuzz=FuzzDifferential ./internal/difftest.
func FuzzDifferential(f *testing.F) {
	f.Add(uint64(2))
	f.Fuzz(func(t *testing.T, seed uint64) {
		if testing.Short() {
			t.Skip("builds and runs generated programs")
		}
		check(t, Options{Seed: seed, Cases: 20, Known: *knownFlag})
	})
}
