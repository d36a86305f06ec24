package safemap

import (
	"fmt"
	"testing"
)

// TestNoAllocationsForExistingKeys checks that reading and writing a key
// already present allocates nothing, whatever the value type, when keys
// hold no pointers (and for string keys, whose bytes are not copied).
func TestNoAllocationsForExistingKeys(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's runtime allocates")
	}
	ints := New[int, int]()
	strs := New[string, int]()
	type point struct{ x, y int32 }
	points := New[int64, point]()
	type record struct {
		name  string
		tags  []string
		count int
		extra any
	}
	records := New[int, record]()
	strValues := New[int, string]()
	floats := New[float64, [4]int]()
	// Without padding: keys that differ only in padding bytes are
	// replaced, which allocates (see keyUpdateOf).
	type coord struct {
		lat, long float32
		zone      int32
	}
	coords := New[coord, string]()
	for i := range 1000 {
		ints.Store(i, i)
		strs.Store(fmt.Sprint(i), i)
		points.Store(int64(i), point{int32(i), 0})
		records.Store(i, record{name: fmt.Sprint(i)})
		strValues.Store(i, fmt.Sprint(i))
		floats.Store(float64(i), [4]int{i})
		coords.Store(coord{float32(i), 1, 2}, "")
	}
	key := "500"
	rec := record{name: "x", tags: []string{"a"}, count: 3, extra: 1.5}
	s := "value"

	delta := 3
	tests := []struct {
		name string
		f    func()
	}{
		{"Get", func() { ints.Get(500) }},
		{"Load", func() { ints.Load(500) }},
		{"Store", func() { ints.Store(500, 1) }},
		{"Update", func() { ints.Update(500, func(old int) int { return old + delta }) }},
		{"Add", func() { Add(ints, 500, 1) }},
		{"Swap", func() { ints.Swap(500, 2) }},
		{"LoadOrStore", func() { ints.LoadOrStore(500, 2) }},
		{"Compute", func() { ints.Compute(500, func(old int, _ bool) (int, Op) { return old + 1, UpdateOp }) }},
		{"CompareAndSwap", func() { CompareAndSwap(ints, 500, 7, 8) }},
		{"Len", func() { ints.Len() }},
		{"string Get", func() { strs.Get(key) }},
		{"string Load", func() { strs.Load(key) }},
		{"string Store", func() { strs.Store(key, 1) }},
		{"string Update", func() { strs.Update(key, func(old int) int { return old + delta }) }},
		{"string Add", func() { Add(strs, key, 1) }},
		{"struct value Store", func() { points.Store(500, point{1, 2}) }},
		{"struct value Get", func() { points.Get(500) }},
		{"record Store", func() { records.Store(500, rec) }},
		{"record Get", func() { records.Get(500) }},
		{"record Update", func() { records.Update(500, func(old record) record { old.count++; return old }) }},
		{"record Swap", func() { records.Swap(500, rec) }},
		{"string value Store", func() { strValues.Store(500, s) }},
		{"string value Get", func() { strValues.Get(500) }},
		{"float key Store", func() { floats.Store(500, [4]int{1, 2, 3, 4}) }},
		{"float key Get", func() { floats.Get(500) }},
		{"float struct key Store", func() { coords.Store(coord{500, 1, 2}, s) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.f); n != 0 {
			t.Errorf("%s allocates %v times per call, want 0", tt.name, n)
		}
	}
}

// TestNoAllocationsForInsertsIntoFlatTables checks that inserting a new key
// into a flat table with room for it allocates nothing, for integer and
// string keys (whose bytes the caller allocated, and the map does not copy).
func TestNoAllocationsForInsertsIntoFlatTables(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's runtime allocates")
	}
	const inserts = 200 // AllocsPerRun(100, f) calls f 101 times
	names := make([]string, inserts)
	for i := range names {
		names[i] = fmt.Sprint("key", i)
	}
	ints := NewSized[int, int](100 * inserts)
	strs := NewSized[string, uint32](100 * inserts)
	var nextInt, nextString int
	tests := []struct {
		name string
		f    func()
	}{
		{"int Store", func() { ints.Store(nextInt, 1); nextInt++ }},
		{"int Delete", func() { nextInt--; ints.Delete(nextInt) }},
		{"string Store", func() { strs.Store(names[nextString], 1); nextString++ }},
		{"string Delete", func() { nextString--; strs.Delete(names[nextString]) }},
	}
	for _, tt := range tests {
		if n := testing.AllocsPerRun(100, tt.f); n != 0 {
			t.Errorf("%s allocates %v times per call, want 0", tt.name, n)
		}
	}
	if !ints.flat || !strs.flat {
		t.Fatal("the maps do not use flat tables")
	}
}
