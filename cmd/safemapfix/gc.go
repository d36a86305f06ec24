package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
)

// The garbage collector's pace. A run allocates much and briefly (syntax,
// types, SSA, a call graph), and with Go's default GOGC=100 the collector
// takes a fifth of the CPU of a run over a large module. Letting the heap
// grow to five times what is live (GOGC=400) saves most of that, but on a
// module whose live heap is already large it would multiply the peak
// memory. So the pace follows the live heap: the heap may grow up to
// heapBudget, never with less room than half the live heap.
//
// Half, not the default's whole: on nats-server the live heap reaches
// 0.85 GiB, and room for as much again took the process to 1.7-2.0 GiB.
// The heap a collection finds live counts what was allocated while it
// marked, and marking takes seconds while SSA is built, so the default's
// room doubled a figure already inflated. With half, the run stays near
// 1.5 GiB and is no slower: the extra collection marks on the core that
// the single-threaded call graph and analysis leave idle.
//
// No memory limit is set. On a module whose live heap nears the budget,
// a limit that keeps the process under 1.5 GiB makes the collector run
// every second or so and the run a fifth slower; a user short of memory
// can make that trade with GOMEMLIMIT.
const (
	heapBudget   = 1300 << 20
	minGCPercent = 50
	maxGCPercent = 400
)

// tuneGC sets the collector's pace for this process, and sets it again
// after every collection from the heap live at its end. A GOGC in the
// environment is the user's choice and is kept; so is a GOMEMLIMIT, which
// the runtime applies on its own.
func tuneGC() {
	if os.Getenv("GOGC") != "" {
		return
	}
	debug.SetGCPercent(maxGCPercent)
	afterCollections(func() { debug.SetGCPercent(gcPercent(liveHeap())) })
}

// gcSentinel is allocated only to be collected: its finalizer runs once
// after each collection. It holds a pointer so that it is not a tiny
// allocation, whose finalizer may never run.
type gcSentinel struct{ _ *byte }

// afterCollections calls f after every collection from now on, on the
// finalizer goroutine: it arms a sentinel whose finalizer calls f and arms
// the next one.
func afterCollections(f func()) {
	runtime.SetFinalizer(&gcSentinel{}, func(*gcSentinel) {
		f()
		afterCollections(f)
	})
}

// liveHeap is the heap the last collection found live, in bytes.
func liveHeap() uint64 {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return sample[0].Value.Uint64()
}

// gcPercent is the GOGC that lets a heap with live bytes live grow to
// heapBudget, within [minGCPercent, maxGCPercent].
func gcPercent(live uint64) int {
	if live == 0 {
		return maxGCPercent
	}
	if live >= heapBudget {
		return minGCPercent
	}
	return min(max(int((heapBudget-live)*100/live), minGCPercent), maxGCPercent)
}
