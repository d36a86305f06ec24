package detect

import "golang.org/x/tools/go/ssa"

// The locks held on entry to a function differ between callers: a helper
// called under s.mu by a goroutine and without it while the value is
// still being built holds s.mu in the first goroutine only. The lock set
// of an access is therefore computed per root: the locks held at the
// access in its function, given the locks every caller of that function
// running in the same root holds, up the call chain.

// maxRootLockFuncs bounds the functions whose entry locks are computed
// per root, so that roots reaching most of a large program cost no more
// than a bounded walk; past it, the locks every caller holds are used.
const maxRootLockFuncs = 1000000

// rootFunc is a function as run by one root.
type rootFunc struct {
	fn   *ssa.Function
	root int
}

// entryLocks is a function entered with a lock set (lockset.key).
type entryLocks struct {
	fn    *ssa.Function
	locks string
}

// entryLocksIn returns the locks held on entry to fn when root r runs it:
// those held at every call site of fn in functions that r runs.
func (a *analysis) entryLocksIn(fn *ssa.Function, r int) lockset {
	key := rootFunc{fn, r}
	if s, ok := a.rootLockIn[key]; ok {
		return s
	}
	if len(a.rootLockIn) >= maxRootLockFuncs {
		return a.entryLocks(fn)
	}
	// Within a cycle of calls, the entries from outside decide; until
	// they are known, use what every caller holds.
	a.rootLockIn[key] = a.entryLocks(fn)
	for _, e := range a.roots[r].entries {
		if e == fn {
			s := lockset{}
			for _, h := range a.assumedHeld[fn] {
				s = s.with(h)
			}
			a.rootLockIn[key] = s
			return s
		}
	}
	var entry lockset
	found := false
	for _, site := range a.p.callers[fn] {
		if _, isGo := site.(*ssa.Go); isGo {
			continue
		}
		caller := site.Parent()
		if !a.runs(r, caller) {
			continue
		}
		at := a.locksAtIn(caller, site, r)
		if op, once := lockOp(site.Common()); op == opOnce {
			at = at.with(held{a.onceKey(once), false})
		}
		if !found {
			entry, found = at, true
		} else {
			entry = entry.meet(at)
		}
	}
	if !found {
		entry = a.entryLocks(fn)
	} else {
		for _, h := range a.assumedHeld[fn] {
			entry = entry.with(h)
		}
		for _, h := range a.callbackIn[fn] {
			entry = entry.with(h)
		}
	}
	a.rootLockIn[key] = entry
	return entry
}

// locksAtIn returns the locks held at instr when root r runs it.
func (a *analysis) locksAtIn(fn *ssa.Function, instr ssa.Instruction, r int) lockset {
	key := rootFunc{fn, r}
	in, ok := a.rootBlockIn[key]
	if !ok {
		entry := a.entryLocksIn(fn, r)
		from := entryLocks{fn, entry.key()}
		if in, ok = a.blockInFrom[from]; !ok {
			in, _ = a.blockLocks(fn, entry, nil)
			a.blockInFrom[from] = in
		}
		a.rootBlockIn[key] = in
	}
	at := a.locksBefore(in, instr)
	if a.flagFor(fn) != nil {
		// The locks of each value of the flag, from every caller.
		at = unionLocks(at, a.locksAt(fn, instr))
	}
	return at
}
