package safemap

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"
)

// TestFlatGroupLayout checks that a flat group with integer keys is two
// cache lines and that every slot's key and value lie in the same line,
// without overlapping another slot or the control word.
func TestFlatGroupLayout(t *testing.T) {
	t.Run("int8", func(t *testing.T) { checkFlatGroupLayout[int8](t) })
	t.Run("int32", func(t *testing.T) { checkFlatGroupLayout[int32](t) })
	t.Run("int", func(t *testing.T) { checkFlatGroupLayout[int](t) })
	t.Run("uint64", func(t *testing.T) { checkFlatGroupLayout[uint64](t) })
}

func checkFlatGroupLayout[K comparable](t *testing.T) {
	var g flatGroup[K]
	if size := unsafe.Sizeof(g); size != 128 {
		t.Fatalf("flatGroup is %d bytes, want 128", size)
	}
	base := uintptr(unsafe.Pointer(&g))
	ctrl := uintptr(unsafe.Pointer(&g.ctrl)) - base
	var prevEnd uintptr
	for i := range groupSize {
		k := uintptr(unsafe.Pointer(&g.slots[i].key)) - base
		v := uintptr(unsafe.Pointer(&g.slots[i].val)) - base
		if k/64 != (v+7)/64 {
			t.Errorf("slot %d: key at byte %d, value at byte %d: not in one line", i, k, v)
		}
		if k < prevEnd || v+8 > ctrl {
			t.Errorf("slot %d: key at byte %d, value at byte %d: overlaps another slot or the control word at byte %d", i, k, v, ctrl)
		}
		prevEnd = v + 8
	}
}

// TestFlatTablesChosen checks which maps keep keys and values in their
// groups: integer and string keys with values of at most a pointer-free
// word.
func TestFlatTablesChosen(t *testing.T) {
	type small struct{ a, b int16 }
	type name string
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
		{"named string-uint8", New[name, uint8]().flat},
		{"string-string", New[string, string]().flat},
		{"float64-int", New[float64, int]().flat},
		{"struct-int", New[struct{ a, b int32 }, int]().flat},
		{"any-int", New[any, int]().flat},
	}
	want := map[string]bool{"int-int": true, "int8-bool": true, "uint32-small struct": true, "int64-float64": true,
		"string-int": true, "named string-uint8": true}
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
	t.Run("int", func(t *testing.T) {
		checkReadersSeeOnlyTheirKeysValues(t, func(i int) int { return i })
	})
	// String keys are also read with plain loads, which the race
	// detector checks here against the writes of keys into new slots.
	t.Run("string", func(t *testing.T) {
		checkReadersSeeOnlyTheirKeysValues(t, func(i int) string { return strconv.Itoa(i) })
	})
}

// checkReadersSeeOnlyTheirKeysValues runs TestFlatReadersSeeOnlyTheirKeysValues
// with key(i) as the key of value -i.
func checkReadersSeeOnlyTheirKeysValues[K comparable](t *testing.T, key func(int) K) {
	m := New[K, int]()
	if !m.flat {
		t.Fatal("the map does not use flat tables")
	}
	const keys = 64
	names := make([]K, keys)
	for i := range names {
		names[i] = key(i)
	}
	var stop atomic.Bool
	var writers sync.WaitGroup
	for w := range 2 {
		writers.Go(func() {
			for i := w; !stop.Load(); i += 2 {
				k := i % keys
				m.Store(names[k], -k)
				m.Delete(names[(i+keys/2)%keys])
			}
		})
	}
	var readers sync.WaitGroup
	for r := range 2 {
		readers.Go(func() {
			for i := range scale(1_000_000) {
				k := (i*7 + r) % keys
				if v, ok := m.Load(names[k]); ok && v != -k {
					t.Errorf("Load(%v) = %d, a value stored for key %v", names[k], v, names[-v])
					return
				}
			}
		})
	}
	readers.Wait()
	stop.Store(true)
	writers.Wait()
}
