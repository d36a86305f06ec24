package difftest

import (
	"fmt"
	"strings"
)

// A template writes the code of one unit for a map, or returns "" when it
// does not apply to the map's types or home.
type template struct {
	name string
	// known marks a template that the rewrite is known to get wrong; it is
	// used only with Options.Known.
	known bool
	gen   func(g *gen, s *Slot) string
}

// unit returns the code of one unit for s, from a template chosen at
// random among those that apply.
func (g *gen) unit(s *Slot) string {
	for {
		t := templates[g.rnd.IntN(len(templates))]
		if t.known && !g.known {
			continue
		}
		if code := t.gen(g, s); code != "" {
			return "// " + t.name + "\n" + code
		}
	}
}

// ops returns the operators of op= that apply to the map's values.
func (g *gen) ops(s *Slot) []string { return s.V.ops }

func (g *gen) operand(s *Slot, op string) string {
	if xs, ok := s.V.operands[op]; ok {
		return g.pick(xs)
	}
	return g.pick(s.V.operands[""])
}

// code joins lines with formatting arguments applied: $M is the map
// expression, $K and $V the key and value types.
func code(s *Slot, format string, args ...any) string {
	r := strings.NewReplacer("$M", s.M, "$K", s.K.expr, "$V", s.V.expr, "$T", fmt.Sprintf("map[%s]%s", s.K.expr, s.V.expr))
	return r.Replace(fmt.Sprintf(format, args...))
}

var templates = []template{
	{name: "store", gen: func(g *gen, s *Slot) string {
		return code(s, "$M[%s] = %s", g.key(s), g.val(s))
	}},
	{name: "store several", gen: func(g *gen, s *Slot) string {
		return code(s, "$M[%s] = %s\n$M[%s] = %s\nfmt.Println(\"len\", len($M))", g.key(s), g.val(s), g.key(s), g.val(s))
	}},
	{name: "get", gen: func(g *gen, s *Slot) string {
		return code(s, "fmt.Println(\"get\", show($M[%s]))", g.key(s))
	}},
	{name: "get discarded", gen: func(g *gen, s *Slot) string {
		return code(s, "_ = $M[%s]", g.key(s))
	}},
	{name: "comma-ok define", gen: func(g *gen, s *Slot) string {
		return code(s, "v, ok := $M[%s]\nfmt.Println(\"comma-ok\", show(v), ok)", g.key(s))
	}},
	{name: "comma-ok var", gen: func(g *gen, s *Slot) string {
		return code(s, "var v, ok = $M[%s]\nfmt.Println(\"comma-ok\", show(v), ok)", g.key(s))
	}},
	{name: "comma-ok assign", gen: func(g *gen, s *Slot) string {
		return code(s, "var v $V\nvar ok bool\nv, ok = $M[%s]\nfmt.Println(\"comma-ok\", show(v), ok)\n_, ok = $M[%s]\nfmt.Println(ok)", g.key(s), g.key(s))
	}},
	{name: "comma-ok if", gen: func(g *gen, s *Slot) string {
		return code(s, `if v, ok := $M[%s]; ok {
	fmt.Println("has", show(v))
} else if _, ok := $M[%s]; ok {
	fmt.Println("has other")
} else {
	fmt.Println("none", show(v))
}`, g.key(s), g.key(s))
	}},
	{name: "comma-ok switch", gen: func(g *gen, s *Slot) string {
		if g.chance(2) {
			return code(s, `switch v, ok := $M[%s]; {
case ok && len($M) > 1:
	fmt.Println("many", show(v))
case ok:
	fmt.Println("one", show(v))
default:
	fmt.Println("missing")
}`, g.key(s))
		}
		return code(s, `switch _, ok := $M[%s]; ok {
case true:
	fmt.Println("present")
case false:
	fmt.Println("absent")
}`, g.key(s))
	}},
	{name: "delete", gen: func(g *gen, s *Slot) string {
		return code(s, "delete($M, %s)\nfmt.Println(\"len\", len($M))", g.key(s))
	}},
	{name: "clear", gen: func(g *gen, s *Slot) string {
		return code(s, "clear($M)\nfmt.Println(\"cleared\", len($M))\n$M[%s] = %s", g.key(s), g.val(s))
	}},
	{name: "len and nil", gen: func(g *gen, s *Slot) string {
		return code(s, "fmt.Println(\"len\", len($M), $M == nil, $M != nil)")
	}},
	{name: "range key value", gen: func(g *gen, s *Slot) string {
		return code(s, `var acc []string
for k, v := range $M {
	acc = append(acc, show(k)+":"+show(v))
}
slices.Sort(acc)
fmt.Println(acc)`)
	}},
	{name: "range key", gen: func(g *gen, s *Slot) string {
		return code(s, `var acc []string
for k := range $M {
	acc = append(acc, show(k))
}
slices.Sort(acc)
fmt.Println(acc)`)
	}},
	{name: "range value", gen: func(g *gen, s *Slot) string {
		return code(s, `var acc []string
for _, v := range $M {
	acc = append(acc, show(v))
}
slices.Sort(acc)
fmt.Println(acc)`)
	}},
	{name: "range count", gen: func(g *gen, s *Slot) string {
		return code(s, "n := 0\nfor range $M {\n\tn++\n}\nfmt.Println(\"count\", n)")
	}},
	{name: "range assign", gen: func(g *gen, s *Slot) string {
		return code(s, `var k $K
var v $V
n := 0
for k, v = range $M {
	n++
}
if n == 1 {
	fmt.Println("only", show(k), show(v))
}
fmt.Println(n)`)
	}},
	{name: "range break", gen: func(g *gen, s *Slot) string {
		return code(s, `n := 0
for range $M {
	n++
	if n == 2 {
		break
	}
}
fmt.Println("broke at", n)`)
	}},
	{name: "range continue", gen: func(g *gen, s *Slot) string {
		return code(s, `n := 0
for k, v := range $M {
	if k == (%s) {
		continue
	}
	_ = v
	n++
}
fmt.Println("others", n)`, g.key(s))
	}},
	{name: "range labels", gen: func(g *gen, s *Slot) string {
		return code(s, `n, found := 0, false
outer:
for k := range $M {
	for i := 0; i < 3; i++ {
		if k == (%s) {
			found = true
			break outer
		}
		if i == 1 {
			continue outer
		}
		n++
	}
}
if !found {
	fmt.Println("not found", n)
} else {
	fmt.Println("found")
}`, g.key(s))
	}},
	{name: "range return", gen: func(g *gen, s *Slot) string {
		return code(s, `find := func() string {
	for k, v := range $M {
		if k == (%s) {
			return "found " + show(v)
		}
	}
	return "none"
}
fmt.Println(find())`, g.key(s))
	}},
	{name: "range defer", gen: func(g *gen, s *Slot) string {
		return code(s, `var acc []string
func() {
	for k, v := range $M {
		defer func() { acc = append(acc, show(k)+"/"+show(v)) }()
	}
}()
slices.Sort(acc)
fmt.Println(acc)`)
	}},
	{name: "range update", gen: func(g *gen, s *Slot) string {
		if s.K.kind == kindFloat {
			// m[NaN] = v adds an entry, and whether a loop produces
			// entries added during it is unspecified.
			return ""
		}
		return code(s, "for k := range $M {\n\t$M[k] = %s\n}", g.val(s))
	}},
	{name: "range delete", gen: func(g *gen, s *Slot) string {
		return code(s, "for k := range $M {\n\tif k != (%s) {\n\t\tdelete($M, k)\n\t}\n}\nfmt.Println(\"left\", len($M))", g.key(s))
	}},
	{name: "op-assign", gen: func(g *gen, s *Slot) string {
		if len(g.ops(s)) == 0 {
			return ""
		}
		op := g.pick(g.ops(s))
		return code(s, "$M[%s] %s= %s", g.key(s), op, g.operand(s, op))
	}},
	{name: "op-assign every operator", gen: func(g *gen, s *Slot) string {
		if len(g.ops(s)) == 0 {
			return ""
		}
		var lines []string
		k := g.key(s)
		for _, op := range g.ops(s) {
			lines = append(lines, fmt.Sprintf("$M[%s] %s= %s", k, op, g.operand(s, op)))
			lines = append(lines, fmt.Sprintf("fmt.Println(%q, show($M[%s]))", op, k))
		}
		return code(s, "%s", strings.Join(lines, "\n"))
	}},
	{name: "op-assign operand calls", gen: func(g *gen, s *Slot) string {
		if len(g.ops(s)) == 0 {
			return ""
		}
		op := g.pick(g.ops(s))
		return code(s, "$M[%s] %s= tr[$V](\"x\", %s)\nfmt.Println(show($M[%[1]s]))", g.key(s), op, g.operand(s, op))
	}},
	{name: "op-assign key and operand calls", gen: func(g *gen, s *Slot) string {
		if len(g.ops(s)) == 0 {
			return ""
		}
		op := g.pick(g.ops(s))
		return code(s, "$M[tr[$K](\"k\", %s)] %s= tr[$V](\"x\", %s)", g.key(s), op, g.operand(s, op))
	}},
	{name: "op-assign reading the map", gen: func(g *gen, s *Slot) string {
		if len(g.ops(s)) == 0 {
			return ""
		}
		op := g.pick(g.ops(s))
		if op == "/" || op == "%" || op == "<<" || op == ">>" {
			op = "+"
		}
		return code(s, "$M[%s] %s= $M[%s]\n$M[%s] %s= $M[%s] + %s", g.key(s), op, g.key(s), g.key(s), op, g.key(s), g.operand(s, "+"))
	}},
	{name: "loop post statement", gen: func(g *gen, s *Slot) string {
		if !s.V.incdec {
			return ""
		}
		return code(s, "for i := 0; i < 3; $M[%s]++ {\n\ti++\n}\nfor n := 0; n < 2; n++ {\n\t$M[%s] += 2\n}", g.key(s), g.key(s))
	}},
	{name: "names the rewrite uses", gen: func(g *gen, s *Slot) string {
		if !s.V.incdec {
			return ""
		}
		return code(s, `tmp, tmp1, v, v1, safemap := 1, 2, 3, 4, 5
$M[%s] -= tr[$V]("x", 2)
$M[%s] *= $V(v + v1)
fmt.Println(tmp, tmp1, v, v1, safemap, show($M[%[1]s]))`, g.key(s), g.key(s))
	}},
	{name: "defer and closures", gen: func(g *gen, s *Slot) string {
		return code(s, `defer fmt.Println("deferred", len($M), show($M[%s]))
defer delete($M, %s)
later := func() $V { return $M[%[1]s] }
$M[%[1]s] = %[3]s
fmt.Println(show(later()))`, g.key(s), g.key(s), g.val(s))
	}},
	{name: "nil map operations", gen: func(g *gen, s *Slot) string {
		return code(s, `$M = nil
delete($M, %s)
clear($M)
n := 0
for range $M {
	n++
}
v, ok := $M[%[1]s]
fmt.Println(n, len($M), show(v), ok, $M == nil)
$M[%[1]s] = %s`, g.key(s), g.val(s))
	}},
	{name: "tuple from a call", gen: func(g *gen, s *Slot) string {
		return code(s, "var x int\n$M[%s], x = func() ($V, int) { return %s, 7 }()\nfmt.Println(x, len($M))", g.key(s), g.val(s))
	}},
	{name: "inc dec", gen: func(g *gen, s *Slot) string {
		if !s.V.incdec {
			return ""
		}
		k := g.key(s)
		return code(s, "$M[%s]++\n$M[%s]++\n$M[%s]--\nfmt.Println(show($M[%s]))", k, g.key(s), g.key(s), k)
	}},
	{name: "inc key call", gen: func(g *gen, s *Slot) string {
		if !s.V.incdec {
			return ""
		}
		return code(s, "$M[tr[$K](\"k\", %s)]++\n$M[tr[$K](\"k\", %s)]--", g.key(s), g.key(s))
	}},
	{name: "append", gen: func(g *gen, s *Slot) string {
		if s.V.kind != kindSlice {
			return ""
		}
		k := g.key(s)
		return code(s, "$M[%s] = append($M[%[1]s], 1, 2)\n$M[%[1]s] = append($M[%[1]s], tr(\"x\", 3))\n$M[%[1]s] = append($M[%[1]s], $M[%s]...)\nfmt.Println(show($M[%[1]s]))", k, g.key(s))
	}},
	{name: "append aliasing", gen: func(g *gen, s *Slot) string {
		if s.V.kind != kindSlice {
			return ""
		}
		k := g.key(s)
		return code(s, "$M[%s] = make([]int, 1, 4)\nprev := $M[%[1]s]\n$M[%[1]s] = append($M[%[1]s], 7)\nprev = append(prev, 8)\nfmt.Println(prev, $M[%[1]s])", k)
	}},
	{name: "element field", gen: func(g *gen, s *Slot) string {
		switch s.V.kind {
		case kindStruct:
			return code(s, "fmt.Println($M[%s].N, $M[%s].S)", g.key(s), g.key(s))
		case kindPointer:
			return code(s, "$M[%s] = &Pt{N: 1}\n$M[%[1]s].N++\nfmt.Println($M[%[1]s].N)\nfmt.Println($M[%s].S)", g.key(s), g.key(s))
		}
		return ""
	}},
	{name: "fold", gen: func(g *gen, s *Slot) string {
		k := g.key(s)
		switch {
		case s.V.kind == kindStruct:
			return code(s, "v := $M[%s]\nv.N++\nv.S += \"!\"\n$M[%[1]s] = v\nfmt.Println(v.N)", k)
		case s.V.incdec:
			return code(s, "v := $M[%s]\nv *= 3\nv++\n$M[%[1]s] = v", k)
		}
		return ""
	}},
	{name: "tuple swap", gen: func(g *gen, s *Slot) string {
		return code(s, "$M[%s], $M[%s] = $M[%[2]s], $M[%[1]s]", g.key(s), g.key(s))
	}},
	{name: "tuple with variable", gen: func(g *gen, s *Slot) string {
		return code(s, "var x $V = %s\nx, $M[%s] = $M[%[2]s], x\nfmt.Println(show(x))", g.val(s), g.key(s))
	}},
	{name: "tuple index variable assigned", gen: func(g *gen, s *Slot) string {
		return code(s, "var i $K = %s\ni, $M[i] = ($K)(%s), ($V)(%s)\nfmt.Println(show(i))", g.key(s), g.key(s), g.val(s))
	}},
	{name: "tuple constants", gen: func(g *gen, s *Slot) string {
		return code(s, "$M[%s], $M[%s] = %s, %s", g.key(s), g.key(s), g.val(s), g.val(s))
	}},
	{name: "store with calls", gen: func(g *gen, s *Slot) string {
		return code(s, "$M[tr[$K](\"k\", %s)] = tr[$V](\"v\", %s)", g.key(s), g.val(s))
	}},
	{name: "read with calls", gen: func(g *gen, s *Slot) string {
		return code(s, "fmt.Println(show($M[tr[$K](\"k\", %s)]))\nv, ok := $M[tr[$K](\"k\", %s)]\nfmt.Println(show(v), ok)\ndelete($M, tr[$K](\"k\", %s))", g.key(s), g.key(s), g.key(s))
	}},
	{name: "store from the map", gen: func(g *gen, s *Slot) string {
		return code(s, "$M[%s] = $M[%s]", g.key(s), g.key(s))
	}},
	{name: "alias", gen: func(g *gen, s *Slot) string {
		return code(s, "a := $M\na[%s] = %s\nfmt.Println(len(a), len($M), show(a[%[1]s]))", g.key(s), g.val(s))
	}},
	{name: "alias var", gen: func(g *gen, s *Slot) string {
		return code(s, "var a $T\na = $M\ndelete(a, %s)\nfmt.Println(len($M))", g.key(s))
	}},
	{name: "pass to function", gen: func(g *gen, s *Slot) string {
		return code(s, "%s($M, %s, %s)\nfmt.Println(%s($M))", s.put, g.key(s), g.val(s), s.size)
	}},
	{name: "getter", gen: func(g *gen, s *Slot) string {
		if s.get == "" {
			return ""
		}
		return code(s, "got := %s()\nfmt.Println(len(got), got == nil, show(got[%s]))", s.get, g.key(s))
	}},
	{name: "generic methods", gen: func(g *gen, s *Slot) string {
		if s.Home != "generic" {
			return ""
		}
		return code(s, "%s.put(%s, %s)\nfmt.Println(%[1]s.size())", s.Holder, g.key(s), g.val(s))
	}},
	{name: "map of maps", gen: func(g *gen, s *Slot) string {
		if s.V.kind != kindMap {
			return ""
		}
		k := g.key(s)
		return code(s, `if $M[%s] == nil {
	$M[%[1]s] = map[string]int{}
}
$M[%[1]s]["x"]++
$M[%[1]s]["y"] = len($M[%[1]s])
delete($M[%[1]s], "z")
fmt.Println($M[%[1]s]["x"], len($M[%[1]s]))
if n, ok := $M[%[1]s]["y"]; ok {
	fmt.Println("inner", n)
}
$M[%s]["w"] = 1`, k, g.key(s))
	}},
	{name: "func values", gen: func(g *gen, s *Slot) string {
		if s.V.kind != kindFunc {
			return ""
		}
		return code(s, `$M[%s] = func() int { return 3 }
if f, ok := $M[%s]; ok && f != nil {
	fmt.Println("call", f())
}
fmt.Println($M[%s]())`, g.key(s), g.key(s), g.key(s))
	}},
	{name: "chan values", gen: func(g *gen, s *Slot) string {
		if s.V.kind != kindChan {
			return ""
		}
		return code(s, `if c := $M[%s]; c != nil && len(c) < cap(c) {
	$M[%[1]s] <- 5
}
select {
case x := <-$M[%s]:
	fmt.Println("received", x)
default:
	fmt.Println("nothing")
}
fmt.Println(len($M[%[1]s]), cap($M[%[1]s]))`, g.key(s), g.key(s))
	}},
	{name: "interface values", gen: func(g *gen, s *Slot) string {
		if s.V.kind != kindInterface {
			return ""
		}
		return code(s, `switch x := $M[%s].(type) {
case int:
	fmt.Println("int", x)
case string:
	fmt.Println("string", x)
case nil:
	fmt.Println("nil")
default:
	fmt.Println("other", show(x))
}
n, ok := $M[%s].(int)
fmt.Println(n, ok)`, g.key(s), g.key(s))
	}},
	{name: "fmt", gen: func(g *gen, s *Slot) string {
		if !s.K.printable || !s.V.printable {
			return ""
		}
		verb := "%d"
		if g.chance(2) {
			verb = "%v"
		}
		return code(s, "fmt.Println($M)\nfmt.Printf(\"%s|%%v\\n\", $M, $M)\nfmt.Println(fmt.Sprint($M), fmt.Sprintf(\"%%+v\", $M))", verb)
	}},
	{name: "json", gen: func(g *gen, s *Slot) string {
		if !s.K.jsonKey || !s.V.jsonValue {
			return ""
		}
		out := code(s, "b, err := json.Marshal($M)\nfmt.Println(string(b), err)")
		if s.Holder != "" {
			out += code(s, "\nb, err = json.Marshal(%s)\nfmt.Println(string(b), err)\nb, err = json.MarshalIndent(%[1]s, \"\", \" \")\nfmt.Println(string(b), err)", s.Holder)
		}
		return out
	}},
	{name: "json round trip", gen: func(g *gen, s *Slot) string {
		if !s.K.jsonKey || !s.V.jsonValue || s.Holder == "" {
			return ""
		}
		ptr := s.Holder
		if s.Home == "field" {
			ptr = "&" + s.Holder
		}
		return code(s, `b, err := json.Marshal(%s)
fmt.Println(err)
$M[%s] = %s
err = json.Unmarshal(b, %[1]s)
fmt.Println(err, len($M))
err = json.Unmarshal([]byte("{\"items\": null}"), %[1]s)
fmt.Println(err, $M == nil, len($M))
err = json.Unmarshal(b, %[1]s)
fmt.Println(err, $M == nil, len($M))`, ptr, g.key(s), g.val(s))
	}},
	{name: "maps helpers", gen: func(g *gen, s *Slot) string {
		var lines []string
		if s.K.ordered && s.K.kind != kindFloat {
			lines = append(lines, "fmt.Println(slices.Sorted(maps.Keys($M)))")
		}
		if s.V.ordered && s.V.kind != kindFloat {
			lines = append(lines, "fmt.Println(slices.Sorted(maps.Values($M)))")
		}
		lines = append(lines, fmt.Sprintf("c := maps.Clone($M)\nfmt.Println(c == nil, len(c))\nif c != nil {\n\tc[%s] = %s\n}\nfmt.Println(len($M), len(c))", g.key(s), g.val(s)))
		return code(s, "%s", strings.Join(lines, "\n"))
	}},
	{name: "check then store", gen: func(g *gen, s *Slot) string {
		v := g.val(s)
		if g.chance(2) {
			v = fmt.Sprintf("tr[$V](\"v\", %s)", v)
		}
		return code(s, "if _, ok := $M[%s]; !ok {\n\t$M[%[1]s] = %s\n}\nfmt.Println(len($M))", g.key(s), v)
	}},
	{name: "drain", gen: func(g *gen, s *Slot) string {
		return code(s, "old := $M\n$M = make($T)\nfmt.Println(len(old), len($M))\n$M[%s] = %s\n", g.key(s), g.val(s)) + g.dump(s, "old", "drained")
	}},
	{name: "drain of a nil map", gen: func(g *gen, s *Slot) string {
		return code(s, "$M = nil\nold := $M\n$M = make($T)\nfmt.Println(len(old), len($M))\n$M[%s] = %s", g.key(s), g.val(s))
	}},
	{name: "reassign", gen: func(g *gen, s *Slot) string {
		switch g.rnd.IntN(4) {
		case 0:
			return code(s, "$M = nil\nfmt.Println(len($M))")
		case 1:
			return code(s, "$M = make($T, 3)")
		case 2:
			return code(s, "$M = $T{}")
		}
		return code(s, "$M = $T{%s}", g.entries(s))
	}},
	{name: "min max", gen: func(g *gen, s *Slot) string {
		if !s.V.ordered || s.V.kind == kindFloat {
			return ""
		}
		return code(s, "fmt.Println(min($M[%s], $M[%s]), max($M[%[1]s], $M[%[2]s]))", g.key(s), g.key(s))
	}},
	{name: "struct copy", gen: func(g *gen, s *Slot) string {
		if s.Home != "field" && s.Home != "pointer" {
			return ""
		}
		holder := s.Holder
		if s.Home == "pointer" {
			holder = "*" + holder
		}
		return code(s, "cp := %s\ncp.Items[%s] = %s\nfmt.Println(len(cp.Items), len($M))", holder, g.key(s), g.val(s))
	}},
	{name: "unhashable key", gen: func(g *gen, s *Slot) string {
		if s.K.kind != kindInterface {
			return ""
		}
		return code(s, "defer func() { fmt.Println(\"unhashable\", recover()) }()\nk := any([]int{1})\nfmt.Println(show($M[%s]))\n$M[k] = %s", g.key(s), g.val(s))
	}},
	{name: "unhashable key message", gen: func(g *gen, s *Slot) string {
		if s.K.kind != kindInterface {
			return ""
		}
		return code(s, "k := any([]int{1})\n_, ok := $M[k]\nfmt.Println(ok)")
	}},
	{name: "float keys NaN", gen: func(g *gen, s *Slot) string {
		if s.K.kind != kindFloat {
			return ""
		}
		return code(s, `$M[nan()] = %s
$M[nan()] = %s
_, ok := $M[nan()]
fmt.Println(len($M), ok, show($M[nan()]))
delete($M, nan())
fmt.Println(len($M))`, g.val(s), g.val(s))
	}},
	{name: "float keys signed zero", gen: func(g *gen, s *Slot) string {
		if s.K.kind != kindFloat {
			return ""
		}
		return code(s, "$M[negZero()] = %s\n$M[0] = %s\nfmt.Println(len($M), show($M[negZero()]))\nfor k := range $M {\n\tif k == 0 {\n\t\tfmt.Println(\"zero key\", k)\n\t}\n}", g.val(s), g.val(s))
	}},
}
