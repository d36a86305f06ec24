package safemap

import (
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// TestFlatGroupLayout checks that a flat group is two cache lines and that
// every slot's key and value words lie in the same line, after the control
// word and without overlapping another slot.
func TestFlatGroupLayout(t *testing.T) {
	var g flatGroup
	if size := unsafe.Sizeof(g); size != 128 {
		t.Fatalf("flatGroup is %d bytes, want 128", size)
	}
	base := uintptr(unsafe.Pointer(&g))
	used := map[uintptr]int{}
	for i := range groupSize {
		k := uintptr(unsafe.Pointer(g.key(i))) - base
		v := uintptr(unsafe.Pointer(g.val(i))) - base
		if k < 8 || k/64 != (v+7)/64 {
			t.Errorf("slot %d: key at byte %d, value at byte %d: not after the control word in one line", i, k, v)
		}
		for _, off := range []uintptr{k, v} {
			if j, ok := used[off]; ok {
				t.Errorf("slots %d and %d share the word at byte %d", j, i, off)
			}
			used[off] = i
		}
	}
}

// TestFlatTablesChosen checks which maps keep keys and values in their
// groups: integer keys with values of at most a pointer-free word.
func TestFlatTablesChosen(t *testing.T) {
	type small struct{ a, b int16 }
	tests := []struct {
		name string
		flat bool
	}{
		{"int-int", New[int, int]().flat},
		{"int8-bool", New[int8, bool]().flat},
		{"uint32-small struct", New[uint32, small]().flat},
		{"int64-float64", New[int64, float64]().flat},
		{"int-string", New[int, string]().flat},
		{"int-[2]int", New[int, [2]int]().flat},
		{"string-int", New[string, int]().flat},
		{"float64-int", New[float64, int]().flat},
	}
	want := map[string]bool{"int-int": true, "int8-bool": true, "uint32-small struct": true, "int64-float64": true}
	for _, tt := range tests {
		if tt.flat != want[tt.name] {
			t.Errorf("%s: flat = %v, want %v", tt.name, tt.flat, want[tt.name])
		}
	}
}

// TestFlatDeletedSlotsReclaimed checks that a flat table, whose deleted
// slots are never reused in place, is rebuilt rather than left to fill
// with them: inserting and deleting many distinct keys while few are live
// keeps the tables small and the contents right.
func TestFlatDeletedSlotsReclaimed(t *testing.T) {
	m := New[int32, int32]()
	const live = 20
	for i := range int32(200_000) {
		m.Store(-i, i)
		if i >= live {
			m.Delete(-(i - live))
		}
		if i%10_000 == 0 {
			m.Clear()
			for j := max(0, i-live+1); j <= i; j++ {
				m.Store(-j, j)
			}
		}
	}
	if n := m.Len(); n != live {
		t.Fatalf("Len() = %d, want %d", n, live)
	}
	for k, v := range m.All() {
		if k != -v || v < 200_000-live {
			t.Errorf("entry %d: %d, want a key among the last %d stored, with its value", k, v, live)
		}
	}
	groups := 0
	for i := range m.shards {
		if tbl := m.shards[i].table.Load(); tbl != nil {
			groups += tbl.groupCount()
		}
	}
	if limit := 4 * len(m.shards); groups > limit {
		t.Errorf("tables have %d groups for %d entries, want at most %d", groups, live, limit)
	}
}

// TestFlatReadersSeeOnlyTheirKeysValues churns a few keys (stored, deleted,
// stored again) while readers look them up: a reader that matched a key's
// slot must never return a value stored for another key, which it would if
// a deleted slot were reused in place while it was reading. The window is
// a few instructions wide; under -race, which slows every atomic access,
// in-place reuse fails this test within a few runs.
func TestFlatReadersSeeOnlyTheirKeysValues(t *testing.T) {
	m := New[int, int]()
	const keys = 64
	var stop atomic.Bool
	var writers sync.WaitGroup
	for w := range 2 {
		writers.Go(func() {
			for i := w; !stop.Load(); i += 2 {
				k := i % keys
				m.Store(k, -k)
				m.Delete((i + keys/2) % keys)
			}
		})
	}
	var readers sync.WaitGroup
	for r := range 2 {
		readers.Go(func() {
			for i := range scale(2_000_000) {
				k := (i*7 + r) % keys
				if v, ok := m.Load(k); ok && v != -k {
					t.Errorf("Load(%d) = %d, a value stored for key %d", k, v, -v)
					return
				}
			}
		})
	}
	readers.Wait()
	stop.Store(true)
	writers.Wait()
}
