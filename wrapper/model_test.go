package safemap

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// modelSteps is the length of each random operation sequence.
func modelSteps() int {
	if testing.Short() {
		return 2000
	}
	return 10000
}

// TestModel applies long random sequences of operations to a Map and to a
// built-in map side by side and compares every result and, after every step,
// the length and periodically the whole contents.
func TestModel(t *testing.T) {
	t.Run("int-int", func(t *testing.T) {
		runModel(t, func(r *rand.Rand) int { return r.IntN(200) }, func(r *rand.Rand) int { return r.IntN(1000) })
	})
	t.Run("int-int-wide", func(t *testing.T) {
		runModel(t, func(r *rand.Rand) int { return r.IntN(5000) }, func(r *rand.Rand) int { return r.Int() })
	})
	t.Run("string-string", func(t *testing.T) {
		runModel(t, func(r *rand.Rand) string { return fmt.Sprint("k", r.IntN(300)) }, func(r *rand.Rand) string { return fmt.Sprint(r.IntN(50)) })
	})
	t.Run("string-int", func(t *testing.T) {
		runModel(t, func(r *rand.Rand) string { return fmt.Sprint("k", r.IntN(300)) }, func(r *rand.Rand) int { return r.IntN(50) })
	})
	t.Run("namedstring-uint16-wide", func(t *testing.T) {
		type name string
		runModel(t, func(r *rand.Rand) name { return name(fmt.Sprint(r.IntN(5000))) }, func(r *rand.Rand) uint16 { return uint16(r.Uint32()) })
	})
	t.Run("int32-float32", func(t *testing.T) {
		runModel(t, func(r *rand.Rand) int32 { return int32(r.IntN(400)) - 200 }, func(r *rand.Rand) float32 { return float32(r.IntN(100)) / 8 })
	})
	t.Run("uint64-pair", func(t *testing.T) {
		type pair struct{ a, b int16 }
		runModel(t, func(r *rand.Rand) uint64 { return r.Uint64() >> 56 << 56 }, func(r *rand.Rand) pair { return pair{int16(r.IntN(9)) - 4, 1} })
	})
	t.Run("int8-bool", func(t *testing.T) {
		runModel(t, func(r *rand.Rand) int8 { return int8(r.IntN(256)) }, func(r *rand.Rand) bool { return r.IntN(2) == 0 })
	})
	t.Run("struct-smallstruct", func(t *testing.T) {
		type key struct {
			a int16
			b string
		}
		type val struct {
			x int32
			y bool
		}
		runModel(t, func(r *rand.Rand) key { return key{int16(r.IntN(10)), fmt.Sprint(r.IntN(10))} },
			func(r *rand.Rand) val { return val{int32(r.IntN(100)), r.IntN(2) == 0} })
	})
	t.Run("float-array", func(t *testing.T) {
		runModel(t, func(r *rand.Rand) float64 {
			switch r.IntN(20) {
			case 0:
				return math.NaN()
			case 1:
				return math.Copysign(0, -1)
			}
			return float64(r.IntN(100)) / 4
		}, func(r *rand.Rand) [3]int64 { return [3]int64{r.Int64N(5), r.Int64N(5), 0} })
	})
	t.Run("int-any", func(t *testing.T) {
		runModel(t, func(r *rand.Rand) int { return r.IntN(100) }, func(r *rand.Rand) any {
			switch r.IntN(3) {
			case 0:
				return r.IntN(5)
			case 1:
				return fmt.Sprint(r.IntN(5))
			}
			return nil
		})
	})
	t.Run("string-mixedstruct", func(t *testing.T) {
		type val struct {
			b    byte
			s    string
			p    *int
			pair [2]int16
		}
		ptrs := []*int{nil, new(int), new(int)}
		runModel(t, func(r *rand.Rand) string { return fmt.Sprint(r.IntN(100)) }, func(r *rand.Rand) val {
			return val{byte(r.IntN(3)), fmt.Sprint(r.IntN(3)), ptrs[r.IntN(len(ptrs))], [2]int16{int16(r.IntN(3)), 0}}
		})
	})
	t.Run("int-empty", func(t *testing.T) {
		runModel(t, func(r *rand.Rand) int { return r.IntN(100) }, func(r *rand.Rand) struct{} { return struct{}{} })
	})
	t.Run("any-pointer", func(t *testing.T) {
		ptrs := []*int{nil, new(int), new(int), new(int)}
		runModel(t, func(r *rand.Rand) any {
			switch r.IntN(5) {
			case 0:
				return r.IntN(50)
			case 1:
				return fmt.Sprint(r.IntN(50))
			case 2:
				switch r.IntN(10) {
				case 0:
					return math.NaN()
				case 1:
					return math.Copysign(0, -1)
				}
				return float64(r.IntN(50))
			case 3:
				return [2]int{r.IntN(5), r.IntN(5)}
			default:
				return nil
			}
		}, func(r *rand.Rand) *int { return ptrs[r.IntN(len(ptrs))] })
	})
}

// isNaN reports whether k is not equal to itself.
func isNaN[K comparable](k K) bool { return k != k }

func runModel[K, V comparable](t *testing.T, genKey func(*rand.Rand) K, genValue func(*rand.Rand) V) {
	t.Helper()
	seed := uint64(rand.Int64())
	r := rand.New(rand.NewPCG(seed, 1))
	m := New[K, V]()
	model := map[K]V{}
	var zero V
	var history []string
	fail := func(format string, args ...any) {
		t.Helper()
		start := max(0, len(history)-10)
		t.Fatalf("seed %d, step %d: %s\nlast operations: %v", seed, len(history), fmt.Sprintf(format, args...), history[start:])
	}
	for step := 0; step < modelSteps(); step++ {
		k, v := genKey(r), genValue(r)
		op := r.IntN(17)
		history = append(history, fmt.Sprintf("op%d(%v, %v)", op, k, v))
		switch op {
		case 0, 1:
			if got, want := m.Get(k), model[k]; got != want {
				fail("Get(%v) = %v, want %v", k, got, want)
			}
		case 2:
			got, ok := m.Load(k)
			want, wantOK := model[k]
			if got != want || ok != wantOK {
				fail("Load(%v) = %v, %v, want %v, %v", k, got, ok, want, wantOK)
			}
		case 3, 4:
			m.Store(k, v)
			model[k] = v
		case 5:
			m.Delete(k)
			delete(model, k)
		case 6:
			got, loaded := m.LoadOrStore(k, v)
			want, wantLoaded := model[k]
			if !wantLoaded {
				want = v
				model[k] = v
			}
			if got != want || loaded != wantLoaded {
				fail("LoadOrStore(%v) = %v, %v, want %v, %v", k, got, loaded, want, wantLoaded)
			}
		case 7:
			calls := 0
			got, loaded := m.LoadOrCompute(k, func() V { calls++; return v })
			want, wantLoaded := model[k]
			if !wantLoaded {
				want = v
				model[k] = v
			}
			if got != want || loaded != wantLoaded || calls != map[bool]int{true: 0, false: 1}[wantLoaded] {
				fail("LoadOrCompute(%v) = %v, %v with %d calls, want %v, %v", k, got, loaded, calls, want, wantLoaded)
			}
		case 8:
			got, ok := m.LoadAndDelete(k)
			want, wantOK := model[k]
			delete(model, k)
			if got != want || ok != wantOK {
				fail("LoadAndDelete(%v) = %v, %v, want %v, %v", k, got, ok, want, wantOK)
			}
		case 9:
			got, loaded := m.Swap(k, v)
			want, wantLoaded := model[k]
			model[k] = v
			if got != want || loaded != wantLoaded {
				fail("Swap(%v) = %v, %v, want %v, %v", k, got, loaded, want, wantLoaded)
			}
		case 10:
			var seen V
			got := m.Update(k, func(old V) V { seen = old; return v })
			if want := model[k]; seen != want {
				fail("Update(%v) saw %v, want %v", k, seen, want)
			}
			model[k] = v
			if got != v {
				fail("Update(%v) = %v, want %v", k, got, v)
			}
		case 11:
			ops := []Op{UpdateOp, DeleteOp, CancelOp}
			o := ops[r.IntN(len(ops))]
			var seen V
			var seenLoaded bool
			got, ok := m.Compute(k, func(old V, loaded bool) (V, Op) { seen, seenLoaded = old, loaded; return v, o })
			old, loaded := model[k]
			if seen != old || seenLoaded != loaded {
				fail("Compute(%v) saw %v, %v, want %v, %v", k, seen, seenLoaded, old, loaded)
			}
			want, wantOK := old, loaded
			switch o {
			case UpdateOp:
				model[k] = v
				want, wantOK = v, true
			case DeleteOp:
				delete(model, k)
				want, wantOK = zero, false
			}
			if got != want || ok != wantOK {
				fail("Compute(%v, %v) = %v, %v, want %v, %v", k, o, got, ok, want, wantOK)
			}
		case 12:
			old := genValue(r)
			want := false
			if cur, ok := model[k]; ok && cur == old {
				model[k] = v
				want = true
			}
			if got := CompareAndSwap(m, k, old, v); got != want {
				fail("CompareAndSwap(%v, %v, %v) = %v, want %v", k, old, v, got, want)
			}
		case 13:
			want := false
			if cur, ok := model[k]; ok && cur == v {
				delete(model, k)
				want = true
			}
			if got := CompareAndDelete(m, k, v); got != want {
				fail("CompareAndDelete(%v, %v) = %v, want %v", k, v, got, want)
			}
		case 14:
			if r.IntN(50) == 0 {
				m.Clear()
				clear(model)
			}
		case 15:
			if r.IntN(20) == 0 {
				compareContents(t, fail, m, model)
			}
		case 16:
			if r.IntN(100) == 0 {
				got := m.TakeAll()
				compareContents(t, fail, From(got), model)
				clear(model)
			}
		}
		if got, want := m.Len(), len(model); got != want {
			fail("Len = %d, want %d", got, want)
		}
	}
	compareContents(t, fail, m, model)
}

// compareContents checks that m holds exactly the entries of model, as seen
// by All, Keys, Values and Clone. Entries with NaN keys are compared as a
// multiset of values.
func compareContents[K, V comparable](t *testing.T, fail func(string, ...any), m *Map[K, V], model map[K]V) {
	t.Helper()
	want := map[K]V{}
	wantNaN := map[V]int{}
	for k, v := range model {
		if isNaN(k) {
			wantNaN[v]++
		} else {
			want[k] = v
		}
	}
	check := func(name string, entries func(yield func(K, V) bool)) {
		got := map[K]V{}
		gotNaN := map[V]int{}
		n := 0
		for k, v := range entries {
			n++
			if isNaN(k) {
				gotNaN[v]++
				continue
			}
			if _, dup := got[k]; dup {
				fail("%s yields key %v twice", name, k)
			}
			got[k] = v
		}
		if n != len(model) {
			fail("%s yields %d entries, want %d", name, n, len(model))
		}
		for k, v := range want {
			if g, ok := got[k]; !ok || g != v {
				fail("%s: key %v has %v, %v, want %v", name, k, g, ok, v)
			}
		}
		for v, c := range wantNaN {
			if gotNaN[v] != c {
				fail("%s: NaN keys with value %v: %d, want %d", name, v, gotNaN[v], c)
			}
		}
	}
	check("All", m.All())
	// Equal keys can still differ (0 and -0): the keys printed must match.
	printed := func(keys []string) string { slices.Sort(keys); return strings.Join(keys, " ") }
	var gotKeys, wantKeys []string
	for k := range m.All() {
		gotKeys = append(gotKeys, fmt.Sprint(k))
	}
	for k := range model {
		wantKeys = append(wantKeys, fmt.Sprint(k))
	}
	if got, want := printed(gotKeys), printed(wantKeys); got != want {
		fail("All yields keys %s, want %s", got, want)
	}
	check("Clone", func(yield func(K, V) bool) {
		for k, v := range m.Clone() {
			if !yield(k, v) {
				return
			}
		}
	})
	keys := 0
	for range m.Keys() {
		keys++
	}
	values := 0
	for range m.Values() {
		values++
	}
	if keys != len(model) || values != len(model) {
		fail("Keys yields %d, Values %d, want %d", keys, values, len(model))
	}
}

// TestAddModel checks Add against += on a built-in map for each kind of
// Addable type, including string, where the order of the operands matters.
func TestAddModel(t *testing.T) {
	t.Run("int", func(t *testing.T) { runAddModel(t, func(r *rand.Rand) int { return r.IntN(20) - 10 }) })
	t.Run("uint64", func(t *testing.T) { runAddModel(t, func(r *rand.Rand) uint64 { return r.Uint64() }) })
	t.Run("uint8", func(t *testing.T) { runAddModel(t, func(r *rand.Rand) uint8 { return uint8(r.IntN(256)) }) })
	t.Run("float64", func(t *testing.T) { runAddModel(t, func(r *rand.Rand) float64 { return float64(r.IntN(8)) / 4 }) })
	t.Run("complex64", func(t *testing.T) {
		runAddModel(t, func(r *rand.Rand) complex64 { return complex(float32(r.IntN(4)), float32(r.IntN(4))) })
	})
	t.Run("string", func(t *testing.T) {
		runAddModel(t, func(r *rand.Rand) string { return string(rune('a' + r.IntN(26))) })
	})
}

func runAddModel[V Addable](t *testing.T, genDelta func(*rand.Rand) V) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	m := New[int, V]()
	model := map[int]V{}
	for step := range modelSteps() / 10 {
		k, delta := r.IntN(20), genDelta(r)
		model[k] += delta
		if got, want := Add(m, k, delta), model[k]; got != want {
			t.Fatalf("step %d: Add(%d, %v) = %v, want %v", step, k, delta, got, want)
		}
		if r.IntN(10) == 0 {
			m.Delete(k)
			delete(model, k)
		}
	}
	compareContents(t, func(format string, args ...any) { t.Helper(); t.Fatalf(format, args...) }, m, model)
}
