package detect

import (
	"fmt"
	"go/types"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/safemapfix/safemapfix/load"
	"golang.org/x/tools/go/ssa"
)

// TestInspect runs the detector over real code and prints what it finds
// and what each phase costs. It is skipped unless DETECT_INSPECT_DIR names
// a directory; DETECT_INSPECT_PATTERN (default ./...) selects packages and
// DETECT_INSPECT_TESTS=0 leaves tests out; DETECT_INSPECT_FUNC names
// functions (as ssa prints them, comma-separated) whose lock state to print;
// DETECT_INSPECT_ACCESS=file.go:line[,file.go:line...] explains, for the
// map accesses on those lines, whether their struct is taken to be private;
// DETECT_INSPECT_HEAP=prefix writes a heap profile after each phase, to
// prefix.<phase>.heap (after a collection, which perturbs the timings);
// DETECT_INSPECT_ROOT=text shows the owners only for roots so described.
//
//	DETECT_INSPECT_DIR=$HOME/src/nats-server go test ./detect -run Inspect -v
func TestInspect(t *testing.T) {
	dir := os.Getenv("DETECT_INSPECT_DIR")
	if dir == "" {
		t.Skip("DETECT_INSPECT_DIR not set")
	}
	pattern := os.Getenv("DETECT_INSPECT_PATTERN")
	if pattern == "" {
		pattern = "./..."
	}
	heapPrefix := os.Getenv("DETECT_INSPECT_HEAP")
	// The CPU time, of this process and of the go command it runs, is
	// steadier than the elapsed time on a machine shared with other work.
	cpuStart := cpuTime()
	// The peak RSS follows the largest heap marked live by a collection
	// (the collector lets the heap grow to twice that), so that is
	// sampled too, per phase.
	live := sampleLiveHeap(t)
	phase := func(name string, start time.Time) {
		elapsed, cpu := time.Since(start), cpuTime()-cpuStart
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		t.Logf("%-10s %8.2fs  cpu %7.2fs  heap %5d MiB  max live %5d MiB  peak RSS %5d MiB",
			name, elapsed.Seconds(), cpu.Seconds(), ms.HeapAlloc>>20, live.Swap(0)>>20, peakRSS()>>20)
		if heapPrefix != "" {
			writeHeapProfile(t, heapPrefix+"."+name+".heap")
		}
		cpuStart = cpuTime()
	}
	start := time.Now()
	tests := os.Getenv("DETECT_INSPECT_TESTS") != "0"
	prog, err := load.Load(load.Config{Dir: dir, Patterns: strings.Fields(pattern), Tests: tests})
	if err != nil {
		t.Fatal(err)
	}
	phase("load", start)
	lines := 0
	for _, p := range prog.Packages {
		for _, f := range p.Syntax {
			lines += prog.Fset.File(f.Pos()).LineCount()
		}
	}
	t.Logf("%d packages, %d lines", len(prog.Packages), lines)

	start = time.Now()
	p := buildProgram(prog.Fset, prog.Packages)
	phase("ssa", start)
	start = time.Now()
	p.buildCallGraph()
	p.graph = nil // as Find does: the graph is indexed into p.calls
	phase("callgraph", start)
	start = time.Now()
	a := newAnalysis(p)
	a.run()
	phase("analysis", start)

	if names := os.Getenv("DETECT_INSPECT_FUNC"); names != "" {
		wanted := map[string]bool{}
		for _, name := range strings.Split(names, ",") {
			wanted[name] = true
		}
		for _, fn := range p.funcs {
			if !wanted[fn.String()] {
				continue
			}
			t.Logf("%s: locks on entry %v, effect %+v", fn, a.lockIn[fn], a.effects[fn])
			for _, site := range p.callers[fn] {
				t.Logf("\tcalled at %s in %s holding %v", p.fset.Position(site.Pos()), site.Parent(), a.locksAt(site.Parent(), site))
			}
		}
	}
	for _, at := range strings.Split(os.Getenv("DETECT_INSPECT_ACCESS"), ",") {
		if at != "" {
			inspectAccess(t, a, at)
		}
	}
	var spawns, library, proven int
	for _, r := range a.roots {
		switch r.kind {
		case rootSpawn:
			spawns++
		case rootLibrary:
			library++
		}
	}
	for _, f := range a.findings {
		if f.Confidence == Proven {
			proven++
		}
	}
	t.Logf("%d functions, %d roots (%d spawned, %d library types); %d findings, %d proven",
		len(p.funcs), len(a.roots), spawns, library, len(a.findings), proven)
	fs := a.findings
	sort.Slice(fs, func(i, j int) bool { return fs[i].Name < fs[j].Name })
	for _, f := range fs {
		t.Logf("%s %s [%s] %s: %s", f.Decl, f.Name, f.Confidence, f.Kind, f.Reason)
		for _, acc := range f.Pair {
			t.Logf("\t%s %s in %s via %v locks %v", acc.Pos, acc.Op, acc.Root, acc.Path, acc.Locks)
		}
		for _, as := range f.Assumptions {
			t.Logf("\tassumes %s", as)
		}
	}
}

// sampleLiveHeap keeps, until the test ends, the largest heap marked live
// by a collection since the value was last reset to 0.
func sampleLiveHeap(t *testing.T) *atomic.Uint64 {
	var max atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() {
		close(done)
		<-stopped
	})
	go func() {
		defer close(stopped)
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() != metrics.KindUint64 {
				return
			}
			v := sample[0].Value.Uint64()
			for old := max.Load(); v > old && !max.CompareAndSwap(old, v); old = max.Load() {
			}
		}
	}()
	return &max
}

// writeHeapProfile writes the live heap to file.
func writeHeapProfile(t *testing.T, file string) {
	runtime.GC()
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Fatalf("write %s: %v", file, err)
	}
}

// peakRSS returns the process's peak resident set size in bytes, from
// /proc/self/status, or 0 where that is not available.
func peakRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb uint64
			for _, c := range strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")) {
				if c >= '0' && c <= '9' {
					kb = kb*10 + uint64(c-'0')
				}
			}
			return kb << 10
		}
	}
	return 0
}

// inspectAccess prints, for each map access at the position at
// ("file.go:line", matched as a suffix), why the analysis does or does not
// take the map's struct to be private there.
func inspectAccess(t *testing.T, a *analysis, at string) {
	for _, fn := range a.p.funcs {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				pos := a.p.fset.Position(instr.Pos())
				if !strings.HasSuffix(fmt.Sprintf("%s:%d", pos.Filename, pos.Line), at) {
					continue
				}
				if call, ok := instr.(*ssa.Call); ok {
					for _, arg := range call.Call.Args {
						if _, isPtr := arg.Type().Underlying().(*types.Pointer); isPtr && a.ptrEscapes(arg) {
							t.Logf("call %s in %s: argument %s escapes", pos, fn, arg.Name())
							explainEscape(t, a, arg, "\t", 0)
						}
					}
				}
				var m ssa.Value
				switch instr := instr.(type) {
				case *ssa.Lookup:
					m = instr.X
				case *ssa.MapUpdate:
					m = instr.Map
				default:
					continue
				}
				t.Logf("access %s in %s: %s", pos, fn, instr)
				t.Logf("\tprivateInstance %v sharedAt %v freshField %v unpublished %v unpublishedMap %v",
					a.privateInstance(m), a.sharedAt(m, instr), a.freshField(m, instr), a.unpublished(m, instr), a.unpublishedMap(m, instr))
				fa := loadedField(m)
				if fa == nil {
					continue
				}
				explainUnshared(t, a, fa.X, instr, fa.Field, "\t", 0)
				explainOwners(t, a, fn, instr, m)
				if a.ptrEscapes(fa.X) {
					explainEscape(t, a, fa.X, "\t", 0)
				}
			}
		}
	}
}

// explainUnshared prints the uses of base that share it before at, and
// follows a parameter base to its callers, a few levels deep.
func explainUnshared(t *testing.T, a *analysis, base ssa.Value, at ssa.Instruction, field int, indent string, depth int) {
	t.Logf("%sbase %s = %s in %s: unshared before %s: %v", indent, base.Name(), base, base.Parent(), a.p.fset.Position(at.Pos()), a.sharedBefore(base, at, field, 0))
	if base.Referrers() != nil {
		for _, r := range *base.Referrers() {
			if a.sharesInstance(base, r, field) && mayPrecede(r, at) {
				t.Logf("%s  shared first by %s at %s", indent, r, a.p.fset.Position(r.Pos()))
			}
		}
	}
	p, ok := base.(*ssa.Parameter)
	if !ok || depth > 4 {
		return
	}
	fn := p.Parent()
	t.Logf("%s  %s: root entry %v, %d callers", indent, fn, a.isRootEntry(fn), len(a.p.callers[fn]))
	for i, q := range fn.Params {
		if q != p {
			continue
		}
		for _, site := range a.p.callers[fn] {
			common := site.Common()
			if _, isCall := site.(*ssa.Call); !isCall || common.IsInvoke() || !a.p.callsStatically(common, fn) || len(common.Args) != len(fn.Params) {
				t.Logf("%s  caller %s at %s is not a static call", indent, site, a.p.fset.Position(site.Pos()))
				continue
			}
			if !a.sharedBefore(common.Args[i], site, field, 0).private() {
				explainUnshared(t, a, common.Args[i], site, field, indent+"  ", depth+1)
			}
		}
	}
}

// explainOwners prints, for a few roots that run the access at instr
// (those whose description contains DETECT_INSPECT_ROOT, when set), the
// owner field and the locks along each chain that hands base down.
func explainOwners(t *testing.T, a *analysis, fn *ssa.Function, instr ssa.Instruction, m ssa.Value) {
	shown := 0
	only := os.Getenv("DETECT_INSPECT_ROOT")
	for r := range a.roots {
		if !a.runs(r, fn) || shown >= 4 || !strings.Contains(a.roots[r].desc, only) {
			continue
		}
		shown++
		fa := loadedField(m)
		alts, ok := a.ownerAlts(fn, instr, fa.X, fa.Field, r, 0)
		t.Logf("\towners in %s (complete %v):", a.roots[r].desc, ok)
		for _, alt := range alts {
			t.Logf("\t\t%v private %v made %v locks %v", alt.owner, alt.private, alt.made, alt.locks)
		}
	}
}

// explainEscape prints the chain of uses by which the pointer v may
// escape, following calls into callees' parameters and stores into the
// variables closures capture, a few levels deep.
func explainEscape(t *testing.T, a *analysis, v ssa.Value, indent string, depth int) {
	if depth > 6 || v.Referrers() == nil {
		return
	}
	for _, r := range *v.Referrers() {
		if !a.publishes(v, r) {
			continue
		}
		t.Logf("%s%s escapes by %s at %s in %s", indent, v.Name(), r, a.p.fset.Position(r.Pos()), r.Parent())
		switch r := r.(type) {
		case *ssa.Call:
			for i, arg := range r.Call.Args {
				if arg != v {
					continue
				}
				for _, callee := range a.p.calls[r] {
					if i < len(callee.Params) && a.ptrEscapes(callee.Params[i]) {
						explainEscape(t, a, callee.Params[i], indent+"  ", depth+1)
					}
				}
			}
		case *ssa.FieldAddr:
			explainEscape(t, a, r, indent+"  ", depth+1)
		case *ssa.Store:
			if c := storedInCell(r, v); c != nil && c.Referrers() != nil {
				for _, u := range *c.Referrers() {
					if load, ok := u.(*ssa.UnOp); ok && a.ptrEscapes(load) {
						explainEscape(t, a, load, indent+"  ", depth+1)
					}
				}
			}
		}
		return
	}
}
