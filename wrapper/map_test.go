package safemap

import (
	"encoding/json"
	"fmt"
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

func TestUnhashableKeyPanics(t *testing.T) {
	// A non-empty built-in map panics with the runtime's error; an empty
	// one reports the same problem with different text.
	builtin := map[any]int{1: 1}
	want := panicMessage(func() { _ = builtin[[]int{1}] })
	m := New[any, int]()
	if got := panicMessage(func() { m.Get([]int{1}) }); got != want {
		t.Errorf("Get of unhashable key panics with %q, want %q", got, want)
	}
	if got := panicMessage(func() { m.Store([]int{1}, 1) }); got != want {
		t.Errorf("Store of unhashable key panics with %q, want %q", got, want)
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
