package detect

import "golang.org/x/tools/go/ssa"

// A map parameter is traced to every map any caller passes, so an access
// through it belongs to all those objects. In a given root, though, it
// touches only the maps passed by the calls that root makes: a helper
// reading its argument under the caller's lock in one goroutine and
// reading another map in a second goroutine does not access the first
// map there.

// passKey is a parameter, an object and a root.
type passKey struct {
	param *ssa.Parameter
	id    string
	root  int
}

// passedIn reports whether, in root r, some call of p's function passes
// the map object id for p, directly or through the caller's own
// parameters. A function entered by r itself, or called where the call
// graph does not say, may receive anything.
func (a *analysis) passedIn(p *ssa.Parameter, id string, r int) bool {
	key := passKey{p, id, r}
	if v, ok := a.passMemo[key]; ok {
		return v
	}
	a.passMemo[key] = false // a cycle of calls adds no new argument
	v := a.passedInNow(p, id, r)
	a.passMemo[key] = v
	return v
}

func (a *analysis) passedInNow(p *ssa.Parameter, id string, r int) bool {
	fn := p.Parent()
	for _, e := range a.roots[r].entries {
		if e == fn {
			return true
		}
	}
	idx := paramIndex(p)
	if idx < 0 {
		return true
	}
	found := false
	for _, site := range a.p.callers[fn] {
		caller := site.Parent()
		if !a.runs(r, caller) {
			continue
		}
		args := paramArgs(site)
		if len(args) != len(fn.Params) {
			return true
		}
		found = true
		arg := args[idx]
		if q, ok := arg.(*ssa.Parameter); ok {
			if a.passedIn(q, id, r) {
				return true
			}
			continue
		}
		for _, src := range a.sources(arg) {
			if src == id {
				return true
			}
		}
	}
	// No call in r: r reaches fn some other way (a function value the
	// call graph resolved without a call site here); assume it may.
	return !found
}
