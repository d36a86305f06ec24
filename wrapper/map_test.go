package safemap

import (
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestBasicOperations(t *testing.T) {
	m := New[string, int]()
	if got := m.Get("a"); got != 0 {
		t.Errorf("Get of absent key = %d, want 0", got)
	}
	m.Store("a", 1)
	m.Store("b", 2)
	if v, ok := m.Load("a"); v != 1 || !ok {
		t.Errorf("Load(a) = %d, %v, want 1, true", v, ok)
	}
	if got := m.Len(); got != 2 {
		t.Errorf("Len = %d, want 2", got)
	}
	if v, loaded := m.LoadOrStore("a", 9); v != 1 || !loaded {
		t.Errorf("LoadOrStore(a) = %d, %v, want 1, true", v, loaded)
	}
	if v, loaded := m.LoadOrStore("c", 3); v != 3 || loaded {
		t.Errorf("LoadOrStore(c) = %d, %v, want 3, false", v, loaded)
	}
	if v, loaded := m.Swap("c", 4); v != 3 || !loaded {
		t.Errorf("Swap(c) = %d, %v, want 3, true", v, loaded)
	}
	if got := Add(m, "c", 10); got != 14 {
		t.Errorf("Add(c, 10) = %d, want 14", got)
	}
	if got := m.Update("d", func(old int) int { return old - 1 }); got != -1 {
		t.Errorf("Update(d) = %d, want -1", got)
	}
	if !CompareAndSwap(m, "d", -1, 5) || CompareAndSwap(m, "d", -1, 6) || CompareAndSwap(m, "zz", 0, 1) {
		t.Error("CompareAndSwap did not swap exactly once")
	}
	if CompareAndDelete(m, "d", 4) || !CompareAndDelete(m, "d", 5) {
		t.Error("CompareAndDelete did not delete exactly once")
	}
	if v, ok := m.LoadAndDelete("c"); v != 14 || !ok {
		t.Errorf("LoadAndDelete(c) = %d, %v, want 14, true", v, ok)
	}
	m.Delete("b")
	want := map[string]int{"a": 1}
	if got := m.Clone(); !maps.Equal(got, want) {
		t.Errorf("Clone = %v, want %v", got, want)
	}
	m.Clear()
	if got := m.Len(); got != 0 {
		t.Errorf("Len after Clear = %d, want 0", got)
	}
}

func TestCompute(t *testing.T) {
	m := From(map[string]int{"a": 1, "b": 2})
	tests := []struct {
		key        string
		op         Op
		value      int
		wantValue  int
		wantOK     bool
		wantLoaded bool
		wantOld    int
		wantMap    map[string]int
	}{
		{"a", UpdateOp, 10, 10, true, true, 1, map[string]int{"a": 10, "b": 2}},
		{"c", UpdateOp, 3, 3, true, false, 0, map[string]int{"a": 10, "b": 2, "c": 3}},
		{"b", DeleteOp, 0, 0, false, true, 2, map[string]int{"a": 10, "c": 3}},
		{"x", DeleteOp, 0, 0, false, false, 0, map[string]int{"a": 10, "c": 3}},
		{"a", CancelOp, 99, 10, true, true, 10, map[string]int{"a": 10, "c": 3}},
		{"y", CancelOp, 99, 0, false, false, 0, map[string]int{"a": 10, "c": 3}},
	}
	for _, tt := range tests {
		calls := 0
		v, ok := m.Compute(tt.key, func(old int, loaded bool) (int, Op) {
			calls++
			if old != tt.wantOld || loaded != tt.wantLoaded {
				t.Errorf("Compute(%q) callback got %d, %v, want %d, %v", tt.key, old, loaded, tt.wantOld, tt.wantLoaded)
			}
			return tt.value, tt.op
		})
		if calls != 1 {
			t.Errorf("Compute(%q) called f %d times", tt.key, calls)
		}
		if v != tt.wantValue || ok != tt.wantOK {
			t.Errorf("Compute(%q, %v) = %d, %v, want %d, %v", tt.key, tt.op, v, ok, tt.wantValue, tt.wantOK)
		}
		if got := m.Clone(); !maps.Equal(got, tt.wantMap) {
			t.Errorf("after Compute(%q, %v): %v, want %v", tt.key, tt.op, got, tt.wantMap)
		}
	}
}

func TestLoadOrCompute(t *testing.T) {
	m := New[int, string]()
	calls := 0
	f := func() string { calls++; return "x" }
	if v, loaded := m.LoadOrCompute(1, f); v != "x" || loaded {
		t.Errorf("first LoadOrCompute = %q, %v", v, loaded)
	}
	if v, loaded := m.LoadOrCompute(1, f); v != "x" || !loaded {
		t.Errorf("second LoadOrCompute = %q, %v", v, loaded)
	}
	if calls != 1 {
		t.Errorf("f called %d times, want 1", calls)
	}
}

// panicMessage returns the text of the panic raised by f, or "" if none.
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

func TestNilMap(t *testing.T) {
	var m *Map[string, int]
	var builtin map[string]int
	wantPanic := panicMessage(func() { builtin["a"] = 1 })
	if wantPanic != "assignment to entry in nil map" {
		t.Fatalf("built-in panic is %q", wantPanic)
	}
	reads := []struct {
		name string
		f    func()
	}{
		{"Get", func() { m.Get("a") }},
		{"Load", func() { m.Load("a") }},
		{"Len", func() { m.Len() }},
		{"Delete", func() { m.Delete("a") }},
		{"LoadAndDelete", func() { m.LoadAndDelete("a") }},
		{"Clear", func() { m.Clear() }},
		{"CompareAndDelete", func() { CompareAndDelete(m, "a", 0) }},
		{"All", func() {
			for range m.All() {
				t.Error("All of nil map yields")
			}
		}},
		{"Compute cancel", func() { m.Compute("a", func(int, bool) (int, Op) { return 0, CancelOp }) }},
	}
	for _, r := range reads {
		if got := panicMessage(r.f); got != "" {
			t.Errorf("%s on nil *Map panics: %s", r.name, got)
		}
	}
	writes := []struct {
		name string
		f    func()
	}{
		{"Store", func() { m.Store("a", 1) }},
		{"LoadOrStore", func() { m.LoadOrStore("a", 1) }},
		{"LoadOrCompute", func() { m.LoadOrCompute("a", func() int { return 1 }) }},
		{"Swap", func() { m.Swap("a", 1) }},
		{"Update", func() { m.Update("a", func(int) int { return 1 }) }},
		{"Add", func() { Add(m, "a", 1) }},
		{"Compute update", func() { m.Compute("a", func(int, bool) (int, Op) { return 1, UpdateOp }) }},
	}
	for _, w := range writes {
		if got := panicMessage(w.f); got != wantPanic {
			t.Errorf("%s on nil *Map panics with %q, want %q", w.name, got, wantPanic)
		}
	}
	if m.Clone() != nil || m.TakeAll() != nil {
		t.Error("Clone or TakeAll of nil *Map is not nil")
	}
	if got, err := json.Marshal(m); string(got) != "null" || err != nil {
		t.Errorf("json.Marshal(nil *Map) = %s, %v", got, err)
	}
}

func TestNewSizedNegative(t *testing.T) {
	n := -1
	want := panicMessage(func() { _ = make(map[int]int, n) })
	if got := panicMessage(func() { NewSized[int, int](n).Store(1, 1) }); got != want {
		t.Errorf("NewSized(-1) panics with %q, make panics with %q", got, want)
	}
}

func TestZeroMapUsable(t *testing.T) {
	var m Map[int, int]
	if m.Len() != 0 {
		t.Error("zero Map not empty")
	}
	m.Store(1, 2)
	if m.Get(1) != 2 {
		t.Error("zero Map does not keep stored value")
	}
}

func TestNaNKeys(t *testing.T) {
	m := New[float64, int]()
	nan := math.NaN()
	m.Store(nan, 1)
	m.Store(nan, 2)
	m.Store(1, 3)
	if m.Len() != 3 {
		t.Errorf("Len = %d, want 3", m.Len())
	}
	if _, ok := m.Load(nan); ok {
		t.Error("Load(NaN) found an entry")
	}
	m.Delete(nan)
	if m.Len() != 3 {
		t.Errorf("Delete(NaN) removed an entry")
	}
	var values []int
	for k, v := range m.All() {
		if k == k {
			continue
		}
		values = append(values, v)
	}
	slices.Sort(values)
	if !slices.Equal(values, []int{1, 2}) {
		t.Errorf("All yields NaN entries %v, want [1 2]", values)
	}
	m.Clear()
	if m.Len() != 0 {
		t.Errorf("Clear left %d entries", m.Len())
	}
}

// TestUnhashableKeyPanics checks that a key that cannot be hashed panics
// with the built-in map's message, which differs between lookups in an
// empty map and everything else.
func TestUnhashableKeyPanics(t *testing.T) {
	key := any([]int{1})
	type holder struct{ k any }
	tests := []struct {
		name    string
		builtin func(map[any]int)
		safe    func(*Map[any, int])
		// opAssign marks m[k] op= x, which the race detector's build
		// compiles as a lookup and an assignment, changing the message.
		opAssign bool
	}{
		{"Get", func(b map[any]int) { _ = b[key] }, func(m *Map[any, int]) { m.Get(key) }, false},
		{"Load", func(b map[any]int) { _, _ = b[key] }, func(m *Map[any, int]) { m.Load(key) }, false},
		{"Store", func(b map[any]int) { b[key] = 1 }, func(m *Map[any, int]) { m.Store(key, 1) }, false},
		{"Delete", func(b map[any]int) { delete(b, key) }, func(m *Map[any, int]) { m.Delete(key) }, false},
		{"LoadAndDelete", func(b map[any]int) { _, _ = b[key]; delete(b, key) }, func(m *Map[any, int]) { m.LoadAndDelete(key) }, false},
		{"Add", func(b map[any]int) { b[key] += 1 }, func(m *Map[any, int]) { Add(m, key, 1) }, true},
		{"Update", func(b map[any]int) { b[key] *= 2 }, func(m *Map[any, int]) { m.Update(key, func(v int) int { return v + 1 }) }, true},
		{"LoadOrStore", func(b map[any]int) { _, _ = b[key] }, func(m *Map[any, int]) { m.LoadOrStore(key, 1) }, false},
		{"Swap", func(b map[any]int) { _, _ = b[key] }, func(m *Map[any, int]) { m.Swap(key, 1) }, false},
		{"CompareAndSwap", func(b map[any]int) { _, _ = b[key] }, func(m *Map[any, int]) { CompareAndSwap(m, key, 0, 1) }, false},
	}
	for _, tt := range tests {
		if tt.opAssign && raceEnabled {
			continue
		}
		for _, size := range []int{0, 1, 100} {
			builtin := map[any]int{}
			m := New[any, int]()
			for i := range size {
				builtin[i] = i
				m.Store(i, i)
			}
			want := panicMessage(func() { tt.builtin(builtin) })
			if want == "" {
				t.Fatalf("%s with %d entries: the built-in map does not panic", tt.name, size)
			}
			if got := panicMessage(func() { tt.safe(m) }); got != want {
				t.Errorf("%s with %d entries panics with %q, want %q", tt.name, size, got, want)
			}
		}
	}
	var nilBuiltin map[holder]int
	var nilMap *Map[holder, int]
	want := panicMessage(func() { _ = nilBuiltin[holder{key}] })
	if got := panicMessage(func() { nilMap.Get(holder{key}) }); got != want {
		t.Errorf("Get of nil *Map panics with %q, want %q", got, want)
	}
}

// TestSignedZeroKeys checks that assigning to a key stores the key too, as
// a built-in map does: 0 and -0 are the same key, and the last one
// assigned is the one kept.
func TestSignedZeroKeys(t *testing.T) {
	negZero := math.Copysign(0, -1)
	show := func(keys iter.Seq[float64]) string {
		var s []string
		for k := range keys {
			s = append(s, fmt.Sprint(k))
		}
		slices.Sort(s)
		return strings.Join(s, " ")
	}
	tests := []struct {
		name    string
		builtin func(map[float64]int)
		safe    func(*Map[float64, int])
	}{
		{"Store", func(b map[float64]int) { b[0] = 2 }, func(m *Map[float64, int]) { m.Store(0, 2) }},
		{"Swap", func(b map[float64]int) { b[0] = 2 }, func(m *Map[float64, int]) { m.Swap(0, 2) }},
		{"Add", func(b map[float64]int) { b[0] += 2 }, func(m *Map[float64, int]) { Add(m, 0, 2) }},
		{"Update", func(b map[float64]int) { b[0] = b[0] * 2 }, func(m *Map[float64, int]) { m.Update(0, func(v int) int { return v * 2 }) }},
		{"Compute", func(b map[float64]int) { b[0] = 5 }, func(m *Map[float64, int]) {
			m.Compute(0, func(int, bool) (int, Op) { return 5, UpdateOp })
		}},
		{"CompareAndSwap", func(b map[float64]int) { b[0] = 3 }, func(m *Map[float64, int]) { CompareAndSwap(m, 0, 1, 3) }},
		{"LoadOrStore", func(b map[float64]int) {}, func(m *Map[float64, int]) { m.LoadOrStore(0, 3) }},
		{"Store same", func(b map[float64]int) { b[negZero] = 2 }, func(m *Map[float64, int]) { m.Store(negZero, 2) }},
	}
	for _, tt := range tests {
		builtin := map[float64]int{negZero: 1, 1: 1}
		m := From(maps.Clone(builtin))
		tt.builtin(builtin)
		tt.safe(m)
		if got, want := show(m.Keys()), show(maps.Keys(builtin)); got != want {
			t.Errorf("%s: keys %s, want %s", tt.name, got, want)
		}
		if got, want := m.Get(0), builtin[0]; got != want {
			t.Errorf("%s: value %d, want %d", tt.name, got, want)
		}
	}
	// An interface key holding a float is replaced the same way, and so is
	// a struct key holding one.
	type point struct {
		x, y float64
		name string
	}
	anyKeys := New[any, int]()
	anyKeys.Store(negZero, 1)
	anyKeys.Store(0.0, 2)
	structKeys := New[point, int]()
	structKeys.Store(point{negZero, 1, "a"}, 1)
	structKeys.Store(point{0, 1, "a"}, 2)
	if got := fmt.Sprint(anyKeys, structKeys); got != "map[0:2] map[{0 1 a}:2]" {
		t.Errorf("after storing 0 over -0: %s, want map[0:2] map[{0 1 a}:2]", got)
	}
}

func TestFormat(t *testing.T) {
	builtin := map[string]int{"b": 2, "a": 1, "c": 3}
	m := From(maps.Clone(builtin))
	var nilMap *Map[string, int]
	var nilBuiltin map[string]int
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%d", "%x", "%10v", "%-5v|", "%q", "%T"} {
		if format == "%T" {
			continue // the types differ by design
		}
		if got, want := fmt.Sprintf(format, m), fmt.Sprintf(format, builtin); got != want {
			t.Errorf("Sprintf(%q) = %s, want %s", format, got, want)
		}
		if got, want := fmt.Sprintf(format, nilMap), fmt.Sprintf(format, nilBuiltin); got != want {
			t.Errorf("Sprintf(%q) of nil = %s, want %s", format, got, want)
		}
	}
	if got, want := m.String(), fmt.Sprint(builtin); got != want {
		t.Errorf("String = %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(struct{ M *Map[string, int] }{m}), fmt.Sprint(struct{ M map[string]int }{builtin}); got != want {
		t.Errorf("Sprint of struct field = %s, want %s", got, want)
	}
}

func TestJSON(t *testing.T) {
	type withMap struct {
		M map[string]int `json:"m"`
	}
	type withSafe struct {
		M *Map[string, int] `json:"m"`
	}
	builtin := map[string]int{"<b>": 2, "a": 1}
	want, err := json.Marshal(withMap{builtin})
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(withSafe{From(maps.Clone(builtin))})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
	var back withSafe
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(back.M.Clone(), builtin) {
		t.Errorf("Unmarshal = %v, want %v", back.M, builtin)
	}
	var sb strings.Builder
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(withSafe{From(maps.Clone(builtin))}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), `"<b>"`) {
		t.Errorf("Encoder without HTML escaping gives %s", sb.String())
	}
}
