// Package safemap provides Map, a generic map that is safe for concurrent use
// and mirrors the semantics of Go's built-in map.
//
// safemapfix rewrites a built-in map that is accessed concurrently without
// synchronisation into a *Map, one method call per map operation: m[k] becomes
// m.Get(k), m[k] = v becomes m.Store(k, v), m[k]++ becomes Add(m, k, 1), and so
// on. Every method's documentation names the built-in operation it replaces.
//
// A nil *Map behaves like a nil map: reads see an empty map, Delete and Clear
// do nothing, and writes panic with the runtime's own
// "assignment to entry in nil map" error.
//
// Callbacks passed to Update, Compute and LoadOrCompute run while the lock for
// their key is held, so that the read-modify-write they describe is atomic.
// They must not call methods of the same Map.
package safemap

import (
	"hash/maphash"
	"runtime"
	"sync"
)

// Map is a map from K to V that is safe for concurrent use by multiple
// goroutines. It is always used through a pointer, as a built-in map is a
// reference: copying a *Map shares the map, and a *Map can be nil.
//
// The zero Map is an empty map ready to use, but Map values must not be copied
// after first use.
type Map[K comparable, V any] struct {
	once   sync.Once
	seed   maphash.Seed
	shards []shard[K, V]
}

// shard is one lock-protected part of a Map. Keys are assigned to shards by
// hash so that writers to different keys rarely contend.
type shard[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
	_  [40]byte // keep shards on separate cache lines
}

// New returns an empty Map. It replaces make(map[K]V).
func New[K comparable, V any]() *Map[K, V] {
	m := &Map[K, V]{}
	m.init(0)
	return m
}

// NewSized returns an empty Map with room for about n entries.
// It replaces make(map[K]V, n).
func NewSized[K comparable, V any](n int) *Map[K, V] {
	m := &Map[K, V]{}
	m.init(n)
	return m
}

// From returns a Map holding the entries of src. It replaces a map[K]V{...}
// composite literal. The Map takes ownership of src: the caller must not use
// src afterwards. A nil src gives an empty, non-nil Map.
func From[K comparable, V any](src map[K]V) *Map[K, V] {
	m := &Map[K, V]{}
	m.init(len(src))
	for k, v := range src {
		m.Store(k, v)
	}
	return m
}

// init sets up the shards, sized for about n entries. It runs once per Map,
// from a constructor or from the first use of a zero Map.
func (m *Map[K, V]) init(n int) {
	m.once.Do(func() {
		m.seed = maphash.MakeSeed()
		count := shardCount()
		m.shards = make([]shard[K, V], count)
		for i := range m.shards {
			m.shards[i].m = make(map[K]V, n/count)
		}
	})
}

// shardCount returns the number of shards for a new Map: a power of two
// comfortably above the number of goroutines that can run at once.
func shardCount() int {
	n := 1
	for n < 4*runtime.GOMAXPROCS(0) {
		n *= 2
	}
	return n
}

// shardFor returns the shard that holds k, initialising a zero Map.
func (m *Map[K, V]) shardFor(k K) *shard[K, V] {
	m.init(0)
	h := maphash.Comparable(m.seed, k)
	return &m.shards[h&uint64(len(m.shards)-1)]
}

// assignToNilMap panics exactly as assigning to an entry of a nil built-in
// map does, by doing so.
func assignToNilMap[K comparable, V any](m map[K]V) {
	var k K
	var v V
	m[k] = v
}

// Get returns the value stored for k, or the zero value if there is none.
// It replaces the index expression m[k].
func (m *Map[K, V]) Get(k K) V {
	v, _ := m.Load(k)
	return v
}

// Load returns the value stored for k and whether there is one.
// It replaces the comma-ok index expression v, ok := m[k].
func (m *Map[K, V]) Load(k K) (V, bool) {
	if m == nil {
		// Hash k anyway so that an unhashable key panics as it would in a
		// built-in map.
		_ = maphash.Comparable(maphash.Seed{}, k)
		var zero V
		return zero, false
	}
	s := m.shardFor(k)
	s.mu.Lock()
	v, ok := s.m[k]
	s.mu.Unlock()
	return v, ok
}

// Store sets the value for k. It replaces the assignment m[k] = v.
func (m *Map[K, V]) Store(k K, v V) {
	if m == nil {
		assignToNilMap[K, V](nil)
	}
	s := m.shardFor(k)
	s.mu.Lock()
	s.m[k] = v
	s.mu.Unlock()
}

// Delete removes the entry for k, if any. It replaces delete(m, k).
func (m *Map[K, V]) Delete(k K) {
	m.LoadAndDelete(k)
}

// Clear removes every entry. It replaces clear(m).
func (m *Map[K, V]) Clear() {
	if m == nil {
		return
	}
	m.init(0)
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		clear(s.m)
		s.mu.Unlock()
	}
}

// Len returns the number of entries. It replaces len(m).
// Under concurrent writes the result is a count at some moment during the call.
func (m *Map[K, V]) Len() int {
	if m == nil {
		return 0
	}
	m.init(0)
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// LoadOrStore returns the value stored for k if there is one (loaded is true);
// otherwise it stores v and returns it (loaded is false), in one atomic step.
// It replaces: if old, ok := m[k]; ok { use old } else { m[k] = v }.
func (m *Map[K, V]) LoadOrStore(k K, v V) (actual V, loaded bool) {
	if m == nil {
		assignToNilMap[K, V](nil)
	}
	s := m.shardFor(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[k]; ok {
		return old, true
	}
	s.m[k] = v
	return v, false
}

// LoadOrCompute returns the value stored for k if there is one (loaded is
// true); otherwise it stores f() and returns it (loaded is false), in one
// atomic step. f runs at most once, only when k is absent, while the lock for
// k is held: it must not use m.
// It replaces: v, ok := m[k]; if !ok { v = f(); m[k] = v }.
func (m *Map[K, V]) LoadOrCompute(k K, f func() V) (actual V, loaded bool) {
	if m == nil {
		f()
		assignToNilMap[K, V](nil)
	}
	s := m.shardFor(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[k]; ok {
		return old, true
	}
	v := f()
	s.m[k] = v
	return v, false
}

// LoadAndDelete removes the entry for k and returns the value it held and
// whether there was one, in one atomic step.
// It replaces: v, ok := m[k]; delete(m, k).
func (m *Map[K, V]) LoadAndDelete(k K) (V, bool) {
	if m == nil {
		return m.Load(k)
	}
	s := m.shardFor(k)
	s.mu.Lock()
	v, ok := s.m[k]
	if ok {
		delete(s.m, k)
	}
	s.mu.Unlock()
	return v, ok
}

// Swap stores v for k and returns the previous value and whether there was
// one, in one atomic step.
// It replaces: previous, loaded := m[k]; m[k] = v.
func (m *Map[K, V]) Swap(k K, v V) (previous V, loaded bool) {
	if m == nil {
		assignToNilMap[K, V](nil)
	}
	s := m.shardFor(k)
	s.mu.Lock()
	previous, loaded = s.m[k]
	s.m[k] = v
	s.mu.Unlock()
	return previous, loaded
}

// Update stores f(old) for k, where old is the value stored for k or the zero
// value if there is none, and returns the new value, in one atomic step.
// f runs while the lock for k is held: it must not use m.
// It replaces m[k] = f(m[k]), as in m[k] op= x, m[k]-- and
// m[k] = append(m[k], x).
func (m *Map[K, V]) Update(k K, f func(old V) V) V {
	if m == nil {
		var zero V
		f(zero)
		assignToNilMap[K, V](nil)
	}
	s := m.shardFor(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	v := f(s.m[k])
	s.m[k] = v
	return v
}

// Op tells Compute what to do with the entry for its key.
type Op int

const (
	// UpdateOp stores the value returned by the callback.
	UpdateOp Op = iota
	// DeleteOp removes the entry, if any.
	DeleteOp
	// CancelOp leaves the map unchanged.
	CancelOp
)

// Compute calls f with the value stored for k (or the zero value) and whether
// there is one, then inserts, changes, deletes or keeps the entry as f's Op
// says, all in one atomic step. It returns the value now stored for k and
// whether there is one. f runs while the lock for k is held: it must not use m.
// It replaces any read-modify-write of m[k] that may also delete it.
func (m *Map[K, V]) Compute(k K, f func(old V, loaded bool) (V, Op)) (actual V, ok bool) {
	if m == nil {
		var zero V
		v, op := f(zero, false)
		if op == UpdateOp {
			assignToNilMap[K, V](nil)
		}
		_ = v
		return zero, false
	}
	s := m.shardFor(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	old, loaded := s.m[k]
	v, op := f(old, loaded)
	switch op {
	case UpdateOp:
		s.m[k] = v
		return v, true
	case DeleteOp:
		if loaded {
			delete(s.m, k)
		}
		var zero V
		return zero, false
	default:
		return old, loaded
	}
}

// Addable is the set of types the += operator applies to.
type Addable interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 |
		~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr |
		~float32 | ~float64 | ~complex64 | ~complex128 | ~string
}

// Add adds delta to the value stored for k (the zero value if there is none)
// and returns the sum, in one atomic step. It replaces m[k] += delta and
// m[k]++.
func Add[K comparable, V Addable](m *Map[K, V], k K, delta V) V {
	if m == nil {
		assignToNilMap[K, V](nil)
	}
	s := m.shardFor(k)
	s.mu.Lock()
	v := s.m[k] + delta
	s.m[k] = v
	s.mu.Unlock()
	return v
}

// CompareAndSwap stores new for k if k is present and its value equals old,
// and reports whether it did, in one atomic step. An absent key is never
// swapped, as in sync.Map.
// It replaces: if v, ok := m[k]; ok && v == old { m[k] = new }.
func CompareAndSwap[K, V comparable](m *Map[K, V], k K, old, new V) bool {
	if m == nil {
		return false
	}
	s := m.shardFor(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[k]; ok && v == old {
		s.m[k] = new
		return true
	}
	return false
}

// CompareAndDelete deletes the entry for k if its value equals old, and
// reports whether it did, in one atomic step.
// It replaces: if v, ok := m[k]; ok && v == old { delete(m, k) }.
func CompareAndDelete[K, V comparable](m *Map[K, V], k K, old V) bool {
	if m == nil {
		return false
	}
	s := m.shardFor(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, ok := s.m[k]; ok && v == old {
		delete(s.m, k)
		return true
	}
	return false
}
