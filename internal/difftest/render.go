package difftest

import (
	"fmt"
	"go/format"
	"slices"
	"strings"
)

// Files returns the source files of the program's module, by path.
func (p *Program) Files() map[string][]byte {
	files := map[string][]byte{
		"go.mod":     []byte("module " + Module + "\n\ngo 1.24\n"),
		"helpers.go": []byte(helpers),
	}
	var main strings.Builder
	main.WriteString("package main\n\nfunc main() {\n")
	for _, c := range p.Cases {
		fmt.Fprintf(&main, "\trun(%q, %s)\n", c.Name, c.Name)
	}
	main.WriteString("}\n")
	files["main.go"] = []byte(main.String())
	for _, c := range p.Cases {
		files[c.Name+".go"] = c.Source()
	}
	return files
}

// Only returns the names of the program's map objects, for --only.
func (p *Program) Only() []string {
	var names []string
	for _, c := range p.Cases {
		for _, s := range c.Slots {
			names = append(names, s.Only)
		}
	}
	return names
}

// Source returns the file that holds the case: its declarations and its
// function, gofmt-formatted.
func (c *Case) Source() []byte {
	var decls, body strings.Builder
	for _, s := range c.Slots {
		for _, d := range s.Decls {
			decls.WriteString(d + "\n\n")
		}
	}
	fmt.Fprintf(&body, "func %s() {\n", c.Name)
	for _, s := range c.Slots {
		for _, st := range s.Setup {
			body.WriteString(st + "\n")
		}
	}
	for i, u := range c.Units {
		fmt.Fprintf(&body, "func() {\ndefer catch(%q)\n%s\n}()\n", fmt.Sprintf("%s.u%d", c.Name, i), u.Code)
	}
	for _, s := range c.Slots {
		fmt.Fprintf(&body, "func() {\ndefer catch(%q)\n%s\n}()\n", c.Name+".dump", s.Dump)
	}
	body.WriteString("}\n")
	text := decls.String() + body.String()
	var imports []string
	for _, imp := range []string{"encoding/json", "fmt", "maps", "slices"} {
		if strings.Contains(text, imp[strings.LastIndex(imp, "/")+1:]+".") {
			imports = append(imports, fmt.Sprintf("%q", imp))
		}
	}
	slices.Sort(imports)
	src := "package main\n\nimport (\n" + strings.Join(imports, "\n") + "\n)\n\n" + text
	if out, err := format.Source([]byte(src)); err == nil {
		return out
	}
	return []byte(src)
}

// helpers is the file of functions shared by every case. None of them
// takes a map, so none is rewritten.
const helpers = `package main

import (
	"cmp"
	"fmt"
	"iter"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Pt is a struct used as key and value type.
type Pt struct {
	N int
	S string
}

// Name is a named string type.
type Name string

var traceN int

// tr prints that an operand is evaluated, numbered, so that the order of
// evaluation shows in the output.
func tr[T any](label string, v T) T {
	traceN++
	fmt.Println("eval", label, traceN, show(v))
	return v
}

func zero() int          { return 0 }
func ten() int           { return 10 }
func word() string       { return "w" }
func negZero() float64   { return math.Copysign(0, -1) }
func nan() float64       { return math.NaN() }

func run(name string, f func()) {
	fmt.Println("== " + name)
	defer catch(name)
	f()
}

// catch prints a panic and stops it.
func catch(label string) {
	if r := recover(); r != nil {
		fmt.Println(label, "panic:", r)
	}
}

// show formats a key or value deterministically: never an address.
func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "<nil>"
	case string:
		return strconv.Quote(x)
	case Name:
		return "Name" + strconv.Quote(string(x))
	case func() int:
		if x == nil {
			return "func(nil)"
		}
		return fmt.Sprintf("func(%d)", x())
	case chan int:
		if x == nil {
			return "chan(nil)"
		}
		return fmt.Sprintf("chan(%d/%d)", len(x), cap(x))
	case *Pt:
		if x == nil {
			return "&nil"
		}
		return fmt.Sprintf("&%v", *x)
	case []int:
		if x == nil {
			return "[](nil)"
		}
		return fmt.Sprint(x)
	case map[string]int:
		if x == nil {
			return "map(nil)"
		}
		return fmt.Sprint(x)
	}
	return fmt.Sprintf("%T(%v)", v, v)
}

// sortedKeys collects and sorts keys of any comparable type.
func sortedKeys[K comparable](seq iter.Seq[K]) []K {
	var keys []K
	for k := range seq {
		keys = append(keys, k)
	}
	slices.SortStableFunc(keys, func(a, b K) int { return cmpAny(a, b) })
	return keys
}

func cmpAny(a, b any) int {
	if ta, tb := fmt.Sprintf("%T", a), fmt.Sprintf("%T", b); ta != tb {
		return strings.Compare(ta, tb)
	}
	switch x := a.(type) {
	case int:
		return cmp.Compare(x, b.(int))
	case uint8:
		return cmp.Compare(x, b.(uint8))
	case float64:
		return cmp.Compare(x, b.(float64))
	}
	return strings.Compare(show(a), show(b))
}
`
