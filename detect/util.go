package detect

import (
	"fmt"
	"go/token"
	"go/types"
	"math/bits"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/tools/go/ssa"
)

// paramIndex returns the position of p among its function's parameters.
func paramIndex(p *ssa.Parameter) int { return slices.Index(p.Parent().Params, p) }

// paramArgs returns the values site passes for its callee's parameters,
// in the order of the callee's Params: for an interface call the receiver,
// the interface value, comes first.
func paramArgs(site ssa.CallInstruction) []ssa.Value {
	c := site.Common()
	if c.IsInvoke() {
		return append([]ssa.Value{c.Value}, c.Args...)
	}
	return c.Args
}

// bitset is a set of small non-negative integers.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func (b bitset) has(i int) bool { return i/64 < len(b) && b[i/64]&(1<<(uint(i)%64)) != 0 }

func (b bitset) add(i int) { b[i/64] |= 1 << (uint(i) % 64) }

// unionWith adds the elements of c to b, reporting whether b grew.
func (b bitset) unionWith(c bitset) bool {
	changed := false
	for i, w := range c {
		if b[i]|w != b[i] {
			b[i] |= w
			changed = true
		}
	}
	return changed
}

// andNot removes the elements of c from b.
func (b bitset) andNot(c bitset) {
	for i, w := range c {
		b[i] &^= w
	}
}

// minus returns b without the members of c, in a new set when c has
// any; b itself when c is nil.
func (b bitset) minus(c bitset) bitset {
	if c == nil {
		return b
	}
	out := append(bitset(nil), b...)
	out.andNot(c)
	return out
}

func (b bitset) empty() bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

// each calls f for every element of b, in increasing order.
func (b bitset) each(f func(int)) {
	for i, w := range b {
		for w != 0 {
			j := bits.TrailingZeros64(w)
			f(i*64 + j)
			w &^= 1 << uint(j)
		}
	}
}

func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// idset is a small sorted set of spawn indexes.
type idset []int32

func (s idset) has(i int) bool {
	j := sort.Search(len(s), func(k int) bool { return s[k] >= int32(i) })
	return j < len(s) && s[j] == int32(i)
}

// union returns s ∪ t, reusing s when t adds nothing.
func (s idset) union(t idset) idset {
	if len(t) == 0 {
		return s
	}
	if len(s) == 0 {
		return t
	}
	out := make(idset, 0, len(s)+len(t))
	i, j := 0, 0
	for i < len(s) || j < len(t) {
		switch {
		case j == len(t) || (i < len(s) && s[i] < t[j]):
			out = append(out, s[i])
			i++
		case i == len(s) || t[j] < s[i]:
			out = append(out, t[j])
			j++
		default:
			out = append(out, s[i])
			i++
			j++
		}
	}
	if len(out) == len(s) {
		return s
	}
	return out
}

func (s idset) with(i int) idset { return s.union(idset{int32(i)}) }

// without returns the elements of s for which drop is false.
func (s idset) without(drop func(int) bool) idset {
	var out idset
	for _, x := range s {
		if !drop(int(x)) {
			out = append(out, x)
		}
	}
	if len(out) == len(s) {
		return s
	}
	return out
}

func sortStrings(s []string) { sort.Strings(s) }

// sortFuncs orders functions by position, then name, so that the analysis
// is deterministic. Positions are resolved once per function, not once per
// comparison: resolving a position searches the file set.
func sortFuncs(fset *token.FileSet, fns []*ssa.Function) {
	type key struct {
		file   string
		offset int
		name   string // computed only for ties, which are rare
	}
	keys := make(map[*ssa.Function]*key, len(fns))
	for _, fn := range fns {
		pos := fset.Position(fn.Pos())
		keys[fn] = &key{file: pos.Filename, offset: pos.Offset}
	}
	name := func(fn *ssa.Function) string {
		k := keys[fn]
		if k.name == "" {
			k.name = fn.String()
		}
		return k.name
	}
	sort.SliceStable(fns, func(i, j int) bool {
		ki, kj := keys[fns[i]], keys[fns[j]]
		if ki.file != kj.file {
			return ki.file < kj.file
		}
		if ki.offset != kj.offset {
			return ki.offset < kj.offset
		}
		return name(fns[i]) < name(fns[j])
	})
}

// shortPos prints a position with the file's base name only.
func shortPos(p token.Position) string {
	return fmt.Sprintf("%s:%d:%d", filepath.Base(p.Filename), p.Line, p.Column)
}

// loopBlocks returns the blocks of fn that lie on a cycle of its control
// flow graph (Tarjan's strongly connected components), or nil when there
// are none. The search state is kept in slices indexed by block number.
func loopBlocks(fn *ssa.Function) map[*ssa.BasicBlock]bool {
	n := len(fn.Blocks)
	index := make([]int, n) // visiting order + 1; 0 when not yet visited
	low := make([]int, n)
	onStack := make([]bool, n)
	var stack []*ssa.BasicBlock
	var loops map[*ssa.BasicBlock]bool
	next := 1
	var visit func(b *ssa.BasicBlock)
	visit = func(b *ssa.BasicBlock) {
		i := b.Index
		index[i], low[i] = next, next
		next++
		stack = append(stack, b)
		onStack[i] = true
		for _, s := range b.Succs {
			if index[s.Index] == 0 {
				visit(s)
				low[i] = min(low[i], low[s.Index])
			} else if onStack[s.Index] {
				low[i] = min(low[i], index[s.Index])
			}
		}
		if low[i] != index[i] {
			return
		}
		top := len(stack) - 1
		for stack[top] != b {
			top--
		}
		comp := stack[top:]
		stack = stack[:top]
		selfLoop := false
		for _, s := range b.Succs {
			if s == b {
				selfLoop = true
			}
		}
		for _, c := range comp {
			onStack[c.Index] = false
			if len(comp) > 1 || selfLoop {
				if loops == nil {
					loops = map[*ssa.BasicBlock]bool{}
				}
				loops[c] = true
			}
		}
	}
	for _, b := range fn.Blocks {
		if index[b.Index] == 0 {
			visit(b)
		}
	}
	return loops
}

// IsPrintFunc reports whether fn formats its variadic operands with
// package fmt: fmt's print functions, Append functions and Errorf, the log
// package's Print, Fatal and Panic functions and methods, and the logging
// methods of testing's T, B and F. fn must belong to a package.
func IsPrintFunc(fn *types.Func) bool {
	name := fn.Name()
	switch fn.Pkg().Path() {
	case "fmt":
		return strings.Contains(name, "rint") || name == "Errorf" || strings.HasPrefix(name, "Append")
	case "log":
		return strings.HasPrefix(name, "Print") || strings.HasPrefix(name, "Fatal") || strings.HasPrefix(name, "Panic")
	case "testing":
		switch name {
		case "Log", "Logf", "Error", "Errorf", "Fatal", "Fatalf", "Skip", "Skipf":
			return true
		}
	}
	return false
}

// calledTrueOn returns the call whose boolean result block p branches on,
// when control goes from p to b only if the call returned true (if
// f() { b... }, or if !f() { ... } else { b... }); nil otherwise.
func calledTrueOn(p, b *ssa.BasicBlock) *ssa.Call {
	br, ok := p.Instrs[len(p.Instrs)-1].(*ssa.If)
	if !ok || len(p.Succs) != 2 || p.Succs[0] == p.Succs[1] {
		return nil
	}
	cond, onTrue := br.Cond, p.Succs[0]
	if not, ok := cond.(*ssa.UnOp); ok && not.Op == token.NOT {
		cond, onTrue = not.X, p.Succs[1]
	}
	call, ok := cond.(*ssa.Call)
	if !ok || b != onTrue {
		return nil
	}
	return call
}

// entry returns m[key], adding a zero value under key first when there is
// none.
func entry[V any](m map[string]*V, key string) *V {
	v := m[key]
	if v == nil {
		v = new(V)
		m[key] = v
	}
	return v
}
