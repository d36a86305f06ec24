package main

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestGCPercent(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		live uint64
		want int
	}{
		{0, maxGCPercent},                  // before the first collection
		{10 * mib, maxGCPercent},           // a small heap grows freely
		{heapBudget / 5, maxGCPercent},     // exactly five times fits
		{heapBudget / 4, 300},              // the rest of the budget
		{heapBudget / 2, 100},              // the rest of the budget
		{heapBudget * 2 / 3, minGCPercent}, // half the live heap fits
		{heapBudget * 3 / 4, minGCPercent}, // less fits; half is the least
		{heapBudget, minGCPercent},
		{3 * heapBudget, minGCPercent}, // never less room than half
	}
	for _, tt := range tests {
		if got := gcPercent(tt.live); got != tt.want {
			t.Errorf("gcPercent(%d MiB) = %d, want %d", tt.live/mib, got, tt.want)
		}
	}
}

// TestAfterCollections checks that the sentinel's finalizer runs after a
// collection and arms the next one, so that the pace is set again after
// every collection and not only after the first.
func TestAfterCollections(t *testing.T) {
	var calls atomic.Int32
	afterCollections(func() { calls.Add(1) })
	for want := int32(1); want <= 3; want++ {
		deadline := time.Now().Add(10 * time.Second)
		for calls.Load() < want {
			if time.Now().After(deadline) {
				t.Fatalf("called after %d collections, want %d", calls.Load(), want)
			}
			runtime.GC()
			time.Sleep(time.Millisecond)
		}
	}
}
