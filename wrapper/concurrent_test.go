package safemap

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// scale returns n, or a tenth of it in short mode.
func scale(n int) int {
	if testing.Short() {
		return max(1, n/10)
	}
	return n
}

func TestConcurrentIncrementsAreExact(t *testing.T) {
	const goroutines, keys = 8, 16
	perGoroutine := scale(2000)
	counters := New[int, int]()
	floats := New[string, float64]()
	strCounters := New[string, int64]()
	lists := New[int, []int]()
	computed := New[int, uint8]()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				k := i % keys
				Add(counters, k, 1)
				counters.Update(k, func(old int) int { return old + 2 })
				Add(floats, fmt.Sprint(k), 0.5)
				Add(strCounters, fmt.Sprint(k), -1)
				strCounters.Update(fmt.Sprint(k), func(old int64) int64 { return old - 1 })
				lists.Update(k, func(old []int) []int { return append(old, g) })
				computed.Compute(k, func(old uint8, loaded bool) (uint8, Op) { return old + 1, UpdateOp })
			}
		})
	}
	wg.Wait()
	for k := range keys {
		want := 0
		for i := range perGoroutine {
			if i%keys == k {
				want += goroutines
			}
		}
		if got := counters.Get(k); got != 3*want {
			t.Errorf("counter %d = %d, want %d", k, got, 3*want)
		}
		if got := floats.Get(fmt.Sprint(k)); got != float64(want)/2 {
			t.Errorf("float counter %d = %v, want %v", k, got, float64(want)/2)
		}
		if got := strCounters.Get(fmt.Sprint(k)); got != int64(-2*want) {
			t.Errorf("string-keyed counter %d = %d, want %d", k, got, -2*want)
		}
		if got := len(lists.Get(k)); got != want {
			t.Errorf("list %d has %d elements, want %d", k, got, want)
		}
		if got := computed.Get(k); got != uint8(want) {
			t.Errorf("computed %d = %d, want %d", k, got, uint8(want))
		}
	}
}

func TestLoadOrComputeRunsOnce(t *testing.T) {
	const goroutines, keys = 8, 100
	m := New[int, int]()
	var calls [keys]atomic.Int32
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for k := range keys {
				v, _ := m.LoadOrCompute(k, func() int { calls[k].Add(1); return k * 10 })
				if v != k*10 {
					t.Errorf("LoadOrCompute(%d) = %d, want %d", k, v, k*10)
				}
			}
		})
	}
	wg.Wait()
	for k := range keys {
		if n := calls[k].Load(); n != 1 {
			t.Errorf("f for key %d ran %d times, want 1", k, n)
		}
	}
}

// TestNoLostWrites has writers fill disjoint key ranges, forcing the tables
// to be rebuilt many times, while each writer checks that what it stored
// stays visible to lock-free reads.
func TestNoLostWrites(t *testing.T) {
	const goroutines = 4
	perGoroutine := scale(5000)
	m := New[string, int]()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				k := fmt.Sprintf("%d-%d", g, i)
				m.Store(k, i)
				if v, ok := m.Load(k); !ok || v != i {
					t.Errorf("Load(%s) right after Store = %d, %v", k, v, ok)
					return
				}
				if i%3 == 0 {
					old := fmt.Sprintf("%d-%d", g, i/2)
					m.Delete(old)
					m.Store(old, i/2)
				}
			}
		})
	}
	wg.Wait()
	if got, want := m.Len(), goroutines*perGoroutine; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
	for g := range goroutines {
		for i := range perGoroutine {
			if v, ok := m.Load(fmt.Sprintf("%d-%d", g, i)); !ok || v != i {
				t.Fatalf("key %d-%d = %d, %v, want %d", g, i, v, ok, i)
			}
		}
	}
}

// TestReadsDuringRebuilds checks that keys that never change are always
// found while other keys of the same shards are inserted and deleted.
func TestReadsDuringRebuilds(t *testing.T) {
	m := New[int, int]()
	const stable = 1000
	for k := range stable {
		m.Store(k, -k)
	}
	var stop atomic.Bool
	var writers sync.WaitGroup
	for w := range 2 {
		writers.Go(func() {
			for i := 0; !stop.Load(); i++ {
				k := stable + w*1_000_000 + i%50000
				m.Store(k, i)
				if i%2 == 0 {
					m.Delete(stable + w*1_000_000 + (i/2)%50000)
				}
				if i%100000 == 99999 {
					m.Clear()
					for k := range stable {
						m.Store(k, -k)
					}
				}
			}
		})
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for range scale(100) {
				for k := range stable {
					if v, ok := m.Load(k); ok && v != -k {
						t.Errorf("Load(%d) = %d, want %d", k, v, -k)
						return
					}
				}
			}
		})
	}
	readers.Wait()
	stop.Store(true)
	writers.Wait()
}

// TestAllDuringWrites iterates while other goroutines write heavily: every
// key that is never written must be produced exactly once with its value.
func TestAllDuringWrites(t *testing.T) {
	m := New[int, string]()
	const stable = 500
	for k := range stable {
		m.Store(k, fmt.Sprint(k))
	}
	var stop atomic.Bool
	var writers sync.WaitGroup
	for w := range 2 {
		writers.Go(func() {
			for i := 0; !stop.Load(); i++ {
				k := -1 - (w*100000 + i%20000)
				m.Store(k, "churn")
				m.Delete(-1 - (w*100000 + (i*7)%20000))
			}
		})
	}
	for range scale(15) {
		seen := map[int]int{}
		for k, v := range m.All() {
			if k >= 0 {
				seen[k]++
				if v != fmt.Sprint(k) {
					t.Errorf("All yields %d: %q", k, v)
				}
			} else if v != "churn" {
				t.Errorf("All yields churn key %d: %q", k, v)
			}
		}
		for k := range stable {
			if seen[k] != 1 {
				t.Fatalf("All yields stable key %d %d times", k, seen[k])
			}
		}
	}
	stop.Store(true)
	writers.Wait()
}

// TestAllBodyWrites checks that the loop body may write the map being
// iterated, that keys it deletes before they are reached are not produced,
// even when its writes rebuild the tables, and that nothing deadlocks.
func TestAllBodyWrites(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		m := New[int, int]()
		for k := range 100 {
			m.Store(k, k)
		}
		deleted := map[int]bool{}
		first := true
		for k, v := range m.All() {
			if deleted[k] {
				t.Errorf("All yields key %d deleted before it was reached", k)
			}
			if k < 100 && v != k && v != k+1000 {
				t.Errorf("All yields %d: %d", k, v)
			}
			m.Store(k, k+1000)
			Add(m, k, 0)
			if first {
				first = false
				// Rebuild the tables, then delete from the new ones:
				// the iterator must not produce what it finds in the
				// old ones.
				for n := range 5000 {
					m.Store(1000+n, 0)
				}
				for other := range 100 {
					if other != k && other%2 == 0 {
						m.Delete(other)
						deleted[other] = true
					}
				}
			}
		}
		for k := range m.Keys() {
			m.Delete(k)
		}
		if n := m.Len(); n != 0 {
			t.Errorf("Len after deleting every key while iterating = %d", n)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("deadlock while writing from the loop body:\n%s", buf[:runtime.Stack(buf, true)])
	}
}

func TestConcurrentComputeAndDelete(t *testing.T) {
	m := New[int, int]()
	const goroutines = 4
	n := scale(5000)
	var added atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for i := range n {
				k := i % 7
				m.Compute(k, func(old int, loaded bool) (int, Op) {
					if old >= 3 {
						return 0, DeleteOp
					}
					return old + 1, UpdateOp
				})
				if v, ok := m.Load(k); ok && (v < 1 || v > 3) {
					t.Errorf("value %d out of range", v)
				}
				added.Add(1)
			}
		})
	}
	wg.Wait()
	// Every fourth Compute on a key deletes it, so what is left is the
	// count modulo four of the Computes on that key.
	total := 0
	for k := range 7 {
		total += m.Get(k)
	}
	perKey := map[int]int{}
	for i := range n {
		perKey[i%7] += goroutines
	}
	want := 0
	for _, c := range perKey {
		want += c % 4
	}
	if total != want {
		t.Errorf("sum of counters = %d, want %d", total, want)
	}
}

// TestTakeAllLosesNothing drains the map while writers add distinct keys:
// every key must end up in exactly one drained batch or in what is left.
func TestTakeAllLosesNothing(t *testing.T) {
	m := New[int, int]()
	const writers = 2
	perWriter := scale(20000)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				m.Store(w*perWriter+i, i)
			}
		})
	}
	seen := make(map[int]int)
	drain := func() {
		for k := range m.TakeAll() {
			seen[k]++
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		drain()
	}
	drain()
	if len(seen) != writers*perWriter {
		t.Errorf("drained %d distinct keys, want %d", len(seen), writers*perWriter)
	}
	for k, n := range seen {
		if n != 1 {
			t.Fatalf("key %d drained %d times", k, n)
		}
	}
}

// TestNoTornValues overwrites values of several machine words, some of
// them pointers, while other goroutines read them: every value read must be
// one that was written whole, never a mix of two writes.
func TestNoTornValues(t *testing.T) {
	type wide struct {
		a    int64
		name string
		b    int32
		p    *int64
		c    [3]byte
	}
	consistent := func(w wide) bool {
		return w.b == int32(w.a) && w.name == fmt.Sprint(w.a) && *w.p == w.a && w.c == [3]byte{byte(w.a), byte(w.a >> 8), 7}
	}
	make := func(i int64) wide {
		return wide{a: i, name: fmt.Sprint(i), b: int32(i), p: &i, c: [3]byte{byte(i), byte(i >> 8), 7}}
	}
	const keys = 4
	m := New[int, wide]()
	iface := New[int, any]()
	for k := range keys {
		m.Store(k, make(0))
		iface.Store(k, 0)
	}
	var stop atomic.Bool
	var writers sync.WaitGroup
	for w := range 2 {
		writers.Go(func() {
			for i := int64(w); !stop.Load(); i += 2 {
				m.Store(int(i%keys), make(i))
				if i%2 == 0 {
					iface.Store(int(i%keys), int(i))
				} else {
					iface.Store(int(i%keys), fmt.Sprint(i))
				}
			}
		})
	}
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for i := range scale(50_000) {
				if v := m.Get(i % keys); !consistent(v) {
					t.Errorf("torn value %+v", v)
					return
				}
				switch v := iface.Get(i % keys).(type) {
				case int:
					if v%2 != 0 {
						t.Errorf("torn interface value: int %d", v)
						return
					}
				case string:
					if len(v) == 0 || (v[len(v)-1]-'0')%2 != 1 {
						t.Errorf("torn interface value: string %q", v)
						return
					}
				default:
					t.Errorf("torn interface value: %T", v)
					return
				}
			}
		})
	}
	readers.Wait()
	stop.Store(true)
	writers.Wait()
	runtime.GC() // the collector must find every pointer stored word by word
	for k := range keys {
		if v := m.Get(k); !consistent(v) {
			t.Errorf("after GC: key %d holds torn value %+v", k, v)
		}
	}
}

// TestOverwritesDuringRebuildsAndDeletes checks overwrites of existing keys
// while other writers rebuild the tables, delete the keys and clear the
// map: an overwrite must land in the table and slot that hold the key, or
// insert it again, never in a table or slot that no longer does. Each key
// has one writer, which stores increasing values and must read back what it
// stored unless a deleter removed exactly that value (or a Clear ran) in
// between.
func TestOverwritesDuringRebuildsAndDeletes(t *testing.T) {
	for _, name := range []string{"int", "string"} {
		t.Run(name, func(t *testing.T) {
			if name == "int" {
				testOverwritesDuringRebuilds(t, func(i int) int { return i })
			} else {
				testOverwritesDuringRebuilds(t, func(i int) string { return fmt.Sprint("k", i) })
			}
		})
	}
}

func testOverwritesDuringRebuilds[K comparable](t *testing.T, key func(int) K) {
	const writers, keysPerWriter = 2, 64
	m := New[K, int]()
	// deleted[k] is the last value a deleter removed from key k, plus one.
	var deleted [writers * keysPerWriter]atomic.Int64
	var clears atomic.Int64
	var stop atomic.Bool
	var churn sync.WaitGroup
	churn.Go(func() { // inserts and deletes other keys: rebuilds
		for i := 0; !stop.Load(); i++ {
			m.Store(key(1_000_000+i%30_000), i)
			m.Delete(key(1_000_000 + (i*7)%30_000))
			if i%50_000 == 49_999 {
				clears.Add(1)
				m.Clear()
			}
		}
	})
	churn.Go(func() { // deletes the writers' keys
		for i := 0; !stop.Load(); i++ {
			k := i % len(deleted)
			if v, ok := m.LoadAndDelete(key(k)); ok {
				deleted[k].Store(int64(v) + 1)
			}
		}
	})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range scale(50_000) {
				k := w*keysPerWriter + i%keysPerWriter
				before := clears.Load()
				m.Store(key(k), i)
				if v, ok := m.Load(key(k)); ok && v != i {
					t.Errorf("Load(%v) after Store(%v, %d) = %d", key(k), key(k), i, v)
					return
				} else if !ok && !waitFor(func() bool { return deleted[k].Load() == int64(i)+1 || clears.Load() != before }) {
					t.Errorf("Store(%v, %d) lost: the key is absent and no one deleted that value", key(k), i)
					return
				}
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	churn.Wait()
}

// waitFor reports whether cond becomes true within a second.
func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); runtime.Gosched() {
		if cond() {
			return true
		}
	}
	return cond()
}
