package difftest

import (
	"context"
	"testing"
	"time"
)

// reproducer is a minimal program on which the rewrite is known to change
// behaviour or to fail. The generator avoids these constructs unless
// -difftest.known is set.
type reproducer struct {
	name string
	bug  string // what goes wrong
	kind string // the failure expected while the bug stands
	key  string // key and value types of the map
	val  string
	init string   // initial value of the map, a local m
	code []string // units using m
	// decls, holder and field, when set, make the map the field
	// holder.field of a struct declared in decls, instead of a local.
	decls         []string
	holder, field string
	// alsoOnly names one more object to rewrite, declared by the units.
	alsoOnly string
}

// reproducers is empty while no rewrite bug is known.
var reproducers = []reproducer{}

// regressions are former reproducers, whose bugs are fixed: each must now
// behave the same before and after the rewrite.
var regressions = []reproducer{
	{
		name: "unhashable key panic message",
		bug:  "a lookup with an unhashable interface key in an empty map panicked with \"runtime error: hash of unhashable type []int\" (from hash/maphash) instead of the built-in map's \"hash of unhashable type: []int\"",
		key:  "any", val: "int", init: "map[any]int{}",
		code: []string{"_, ok := m[any([]int{1})]\nfmt.Println(ok)", "m[1] = 1\n_, ok := m[any([]int{1})]\nfmt.Println(ok)"},
	},
	{
		name: "overwriting a signed zero key",
		bug:  "a built-in map replaces the stored key on assignment (m[-0] then m[0] leaves key 0); the safe map kept the first key, -0",
		key:  "float64", val: "int", init: "map[float64]int{}",
		code: []string{"m[negZero()] = 1\nm[0] = 2\nfor k := range m {\n\tfmt.Println(k)\n}"},
	},
}

// program returns the reproducer as a one-case program.
func (r reproducer) program() *Program {
	mt := "map[" + r.key + "]" + r.val
	s := &Slot{
		Home:  "local",
		Only:  Module + ".case0.m",
		M:     "m",
		Setup: []string{"m := " + r.init},
		Dump:  `fmt.Println("len", len(m))`,
	}
	if r.init == "" {
		s.Setup = []string{"var m " + mt}
	}
	if r.holder != "" {
		s.Home, s.M, s.Holder = "field", "h."+r.field, "h"
		s.Only = Module + "." + r.holder + "." + r.field
		s.Decls = r.decls
		s.Setup = []string{"h := " + r.init}
		s.Dump = `fmt.Println("len", len(h.` + r.field + `))`
	}
	c := &Case{Name: "case0", Slots: []*Slot{s}}
	if r.alsoOnly != "" {
		c.Slots = append(c.Slots, &Slot{Home: "local", Only: Module + ".case0." + r.alsoOnly})
	}
	for _, code := range r.code {
		c.Units = append(c.Units, Unit{Slot: 0, Code: code})
	}
	return &Program{Cases: []*Case{c}}
}

// TestRegressions checks that the programs of fixed bugs behave the same
// before and after the rewrite.
func TestRegressions(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs generated programs")
	}
	for _, r := range regressions {
		t.Run(r.name, func(t *testing.T) {
			setEnv(t)
			ch := &Checker{Dir: t.TempDir(), Timeout: time.Minute}
			p := r.program()
			o, err := ch.Check(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if o.Failed() {
				t.Fatalf("fixed bug is back (%s):\n%s", r.bug, Report(p, o))
			}
		})
	}
}

// TestReproducers checks the known rewrite bugs, each on its smallest
// program. They are skipped unless -difftest.known is set; with it, a
// reproducer that no longer fails as described reports so, since its bug
// is fixed and the generator may stop avoiding the construct.
func TestReproducers(t *testing.T) {
	for _, r := range reproducers {
		t.Run(r.name, func(t *testing.T) {
			if !*knownFlag {
				t.Skip("rewrite bug: " + r.bug + " (run with -difftest.known)")
			}
			setEnv(t)
			ch := &Checker{Dir: t.TempDir(), Timeout: time.Minute}
			p := r.program()
			o, err := ch.Check(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			if o.Kind != r.kind {
				t.Fatalf("expected %q from the bug (%s), got %q:\n%s", r.kind, r.bug, o.Kind, Report(p, o))
			}
			t.Logf("still failing as known:\n%s", Report(p, o))
		})
	}
}
