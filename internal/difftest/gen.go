package difftest

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Options control the generator.
type Options struct {
	// Seed makes the program: the same seed gives the same program.
	Seed uint64
	// Cases is the number of cases in the program.
	Cases int
	// Known includes constructs that the rewrite is known to get wrong, so
	// that their reproducers can be checked once fixed.
	Known bool
}

// Module is the module path of generated programs.
const Module = "example.com/dt"

// Program is a generated program: many independent cases run one after the
// other by one main function.
type Program struct {
	Seed  uint64
	Cases []*Case
}

// Case is one function of the program with its own map objects.
type Case struct {
	Name  string
	Slots []*Slot
	Units []Unit
}

// Slot is one map object of a case.
type Slot struct {
	// Home says where the map lives: "var", "local", "field", "pointer",
	// "embedded" or "generic".
	Home string
	// Only is the object's name as safemapfix --only takes it.
	Only string
	// M is the expression that denotes the map inside the case function.
	M string
	// Holder is the expression of the struct holding the map, for the
	// homes that have one.
	Holder string
	K, V   *typ
	// Decls are file-level declarations; Setup the statements that start
	// the case function; Dump the statements that print the map at its end.
	Decls []string
	Setup []string
	Dump  string
	// funcs names the module functions declared for the map: put, size
	// and get (a getter returning the map).
	put, size, get string
}

// Unit is a group of statements exercising one map, run in its own
// function literal that recovers and prints a panic.
type Unit struct {
	Slot int
	Code string
}

// Generate returns the program that opts describe.
func Generate(opts Options) *Program {
	g := &gen{rnd: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15)), known: opts.Known}
	// Each key and value type pair instantiates the safe map anew, and
	// compiling those instantiations is most of the cost of a run: a
	// program draws its maps from a few pairs, and seeds vary the pairs.
	for range pairsPerProgram {
		g.pairs = append(g.pairs, [2]*typ{keyTypes[g.rnd.IntN(len(keyTypes))], valueTypes[g.rnd.IntN(len(valueTypes))]})
	}
	p := &Program{Seed: opts.Seed}
	for i := range opts.Cases {
		p.Cases = append(p.Cases, g.newCase(fmt.Sprintf("case%d", i)))
	}
	return p
}

// gen holds the state of one generation.
type gen struct {
	rnd   *rand.Rand
	known bool
	pairs [][2]*typ // the key and value types of maps
	fresh int       // counter for unit-local names
}

func (g *gen) pick(xs []string) string { return xs[g.rnd.IntN(len(xs))] }

func (g *gen) chance(n int) bool { return g.rnd.IntN(n) == 0 }

func (g *gen) key(s *Slot) string { return g.pick(s.K.vals) }
func (g *gen) val(s *Slot) string { return g.pick(s.V.vals) }

// name returns a fresh identifier with the prefix.
func (g *gen) name(prefix string) string {
	g.fresh++
	return fmt.Sprintf("%s%d", prefix, g.fresh)
}

// pairsPerProgram is the number of key and value type pairs of a program.
const pairsPerProgram = 8

var homes = []string{"var", "local", "field", "pointer", "embedded", "generic"}

func (g *gen) newCase(name string) *Case {
	c := &Case{Name: name}
	n := 1 + g.rnd.IntN(3)
	for i := range n {
		c.Slots = append(c.Slots, g.newSlot(c, i))
	}
	units := 4 + g.rnd.IntN(10)
	for range units {
		i := g.rnd.IntN(len(c.Slots))
		c.Units = append(c.Units, Unit{Slot: i, Code: g.unit(c.Slots[i])})
	}
	return c
}

// initExpr returns an initial value for a map of type mt.
func (g *gen) initExpr(s *Slot, mt string) string {
	switch g.rnd.IntN(6) {
	case 0:
		return "nil"
	case 1:
		return fmt.Sprintf("make(%s)", mt)
	case 2:
		return fmt.Sprintf("make(%s, %d)", mt, g.rnd.IntN(20))
	case 3:
		return mt + "{}"
	default:
		return mt + "{" + g.entries(s) + "}"
	}
}

// entries returns the elements of a map literal with distinct keys.
func (g *gen) entries(s *Slot) string {
	keys := append([]string(nil), s.K.vals...)
	g.rnd.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	n := 1 + g.rnd.IntN(len(keys))
	var parts []string
	for _, k := range keys[:n] {
		parts = append(parts, k+": "+g.val(s))
	}
	return strings.Join(parts, ", ")
}

func (g *gen) newSlot(c *Case, i int) *Slot {
	pair := g.pairs[g.rnd.IntN(len(g.pairs))]
	s := &Slot{Home: homes[g.rnd.IntN(len(homes))], K: pair[0], V: pair[1]}
	mt := fmt.Sprintf("map[%s]%s", s.K.expr, s.V.expr)
	p := fmt.Sprintf("%s_%d", c.Name, i) // prefix of the slot's names
	tag := ""
	if g.chance(2) {
		tag = " `json:\"items\"`"
	}
	if g.chance(12) {
		// The rewrite refuses these fields: an empty safe map is not
		// omitted as an empty map is.
		tag = " `json:\"items,omitempty\"`"
	}
	init := g.initExpr(s, mt)
	switch s.Home {
	case "var":
		s.M = p + "m"
		s.Only = Module + "." + s.M
		switch {
		case init == "nil":
			s.Decls = append(s.Decls, fmt.Sprintf("var %s %s", s.M, mt))
		case g.chance(3):
			s.Decls = append(s.Decls, fmt.Sprintf("var %s %s = %s", s.M, mt, init))
		default:
			s.Decls = append(s.Decls, fmt.Sprintf("var %s = %s", s.M, init))
		}
		s.get = p + "get"
		s.Decls = append(s.Decls, fmt.Sprintf("func %s() %s { return %s }", s.get, mt, s.M))
	case "local":
		s.M = p + "m"
		s.Only = Module + "." + c.Name + "." + s.M
		if init == "nil" {
			s.Setup = append(s.Setup, fmt.Sprintf("var %s %s", s.M, mt))
		} else {
			s.Setup = append(s.Setup, fmt.Sprintf("%s := %s", s.M, init))
		}
		s.get = p + "get"
		s.Setup = append(s.Setup, fmt.Sprintf("%s := func() %s { return %s }", s.get, mt, s.M), "_ = "+s.get)
	case "field", "pointer":
		t := p + "T"
		s.Only = Module + "." + t + ".Items"
		s.Decls = append(s.Decls, fmt.Sprintf("type %s struct {\n\tN     int\n\tItems %s%s\n}", t, mt, tag))
		s.Decls = append(s.Decls, fmt.Sprintf("func (s *%s) items() %s { return s.Items }", t, mt))
		s.Holder = p + "h"
		lit := fmt.Sprintf("%s{N: 1, Items: %s}", t, init)
		if g.chance(3) {
			lit = fmt.Sprintf("%s{1, %s}", t, init)
		}
		if s.Home == "pointer" {
			if g.chance(3) {
				s.Setup = append(s.Setup, fmt.Sprintf("%s := new(%s)", s.Holder, t), fmt.Sprintf("%s.Items = %s", s.Holder, init))
			} else {
				s.Setup = append(s.Setup, fmt.Sprintf("%s := &%s", s.Holder, lit))
			}
		} else {
			s.Setup = append(s.Setup, fmt.Sprintf("%s := %s", s.Holder, lit))
		}
		s.M = s.Holder + ".Items"
		s.get = s.Holder + ".items"
	case "embedded":
		in, out := p+"In", p+"Out"
		s.Only = Module + "." + in + ".Items"
		s.Decls = append(s.Decls, fmt.Sprintf("type %s struct {\n\tItems %s%s\n}", in, mt, tag))
		s.Decls = append(s.Decls, fmt.Sprintf("type %s struct {\n\t%s\n\tN int\n}", out, in))
		s.Holder = p + "h"
		s.Setup = append(s.Setup, fmt.Sprintf("%s := &%s{%s: %s{Items: %s}}", s.Holder, out, in, in, init))
		s.M = s.Holder + ".Items"
		if g.chance(3) {
			s.M = s.Holder + "." + in + ".Items"
		}
	case "generic":
		t := p + "G"
		s.Only = Module + "." + t + ".Items"
		s.Decls = append(s.Decls,
			fmt.Sprintf("type %s[K comparable, V any] struct {\n\tItems map[K]V%s\n}", t, tag),
			fmt.Sprintf("func new%s[K comparable, V any]() *%s[K, V] { return &%s[K, V]{Items: make(map[K]V)} }", t, t, t),
			fmt.Sprintf("func (g *%s[K, V]) put(k K, v V) { g.Items[k] = v }", t),
			fmt.Sprintf("func (g *%s[K, V]) size() int { return len(g.Items) }", t),
			fmt.Sprintf("func (g *%s[K, V]) items() map[K]V { return g.Items }", t),
		)
		s.Holder = p + "h"
		inst := fmt.Sprintf("%s[%s, %s]", t, s.K.expr, s.V.expr)
		if g.chance(3) {
			s.Setup = append(s.Setup, fmt.Sprintf("%s := new%s", s.Holder, inst)+"()")
		} else {
			s.Setup = append(s.Setup, fmt.Sprintf("%s := &%s{Items: %s}", s.Holder, inst, init))
		}
		s.M = s.Holder + ".Items"
		s.get = s.Holder + ".items"
	}
	s.put, s.size = p+"put", p+"size"
	s.Decls = append(s.Decls,
		fmt.Sprintf("func %s(m %s, k %s, v %s) { m[k] = v }", s.put, mt, s.K.expr, s.V.expr),
		fmt.Sprintf("func %s(m %s) int { return len(m) }", s.size, mt))
	s.Dump = g.dump(s, s.M, "end "+s.M)
	return s
}

// dump returns statements printing the entries of the map m, sorted.
func (g *gen) dump(s *Slot, m, label string) string {
	if g.chance(2) {
		return fmt.Sprintf(`{
	var lines []string
	for k, v := range %s {
		lines = append(lines, show(k)+"="+show(v))
	}
	slices.Sort(lines)
	fmt.Println(%q, len(%s), lines)
}`, m, label, m)
	}
	return fmt.Sprintf(`fmt.Println(%q, len(%s))
for _, k := range sortedKeys(maps.Keys(%s)) {
	fmt.Println("  ", show(k), show(%s[k]))
}`, label, m, m, m)
}
