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
//
// # Differences from a built-in map
//
// A *Map is a pointer, so a few things that look at a map's representation
// rather than its operations see the difference: reflect.DeepEqual compares
// two Maps by their internals, not their entries; the json omitempty option
// omits only a nil *Map, not an empty one; and fmt, which cannot call
// methods through unexported struct fields, prints such a field as a pointer
// rather than as map[k:v].
package safemap

import (
	"hash/maphash"
	"math/rand/v2"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Map is a map from K to V that is safe for concurrent use by multiple
// goroutines. It is always used through a pointer, as a built-in map is a
// reference: copying a *Map shares the map, and a *Map can be nil.
//
// Lookups take no lock. Writes lock one of several shards, chosen by the
// key's hash. Writing an existing key allocates nothing, whatever the value
// type, unless the key written differs from the one stored while being
// equal to it, as -0 and 0 do, and replaces it.
//
// The zero Map is an empty map ready to use; a Map must not be copied after
// first use.
type Map[K comparable, V any] struct {
	// ready is set once the fields below are; they never change after.
	ready   atomic.Bool
	keyKind keyKind
	// keyUpdate says how to tell equal keys apart; see set.
	keyUpdate keyUpdate
	// mayPanic is set when hashing a key can panic, as for an interface
	// key holding a slice.
	mayPanic bool
	inline   bool // values are stored in entry.word; see storesInline
	// flat is set when keys are integers or strings and values are
	// stored inline: both are then kept in the tables' groups (see
	// flat.go).
	flat bool
	// addWord is set for flat tables with 64-bit integer values, whose
	// sums the value words compute themselves: Add then changes a value
	// with one atomic add, under the shard's lock as any write, instead
	// of a load and a store.
	addWord bool
	// pointerWords marks the machine words of a cell[V] that hold
	// pointers, when values are not stored inline.
	pointerWords []bool
	shift        uint8  // a hash's shard is its top bits: hash >> shift
	intSeed      uint64 // seed for hashInt
	seed         maphash.Seed
	shards       []shard[K, V]

	// tables holds each shard's table. It is part of the Map itself, not of
	// the shards, so that a lookup follows one pointer fewer.
	tables [maxShards]atomic.Pointer[table[K, V]]

	initMu sync.Mutex // serialises the initialisation of a zero Map
}

// maxShards bounds the number of shards of a Map.
const maxShards = 32

// New returns an empty Map. It replaces make(map[K]V).
func New[K comparable, V any]() *Map[K, V] {
	m := &Map[K, V]{}
	m.init(0)
	return m
}

// NewSized returns an empty Map with room for about n entries.
// It replaces make(map[K]V, n). Like make, it treats a negative n as zero.
func NewSized[K comparable, V any](n int) *Map[K, V] {
	m := &Map[K, V]{}
	m.init(n)
	return m
}

// From returns a Map holding the entries of src. It replaces a map[K]V{...}
// composite literal. The Map takes ownership of src: the caller must not use
// src afterwards. A nil src gives an empty, non-nil Map.
func From[K comparable, V any](src map[K]V) *Map[K, V] {
	m := NewSized[K, V](len(src))
	for k, v := range src {
		m.Store(k, v)
	}
	return m
}

// init sets up m with room for about n entries. It runs before m is shared,
// or under m.initMu for a zero Map.
func (m *Map[K, V]) init(n int) {
	count := shardCount()
	m.seed = maphash.MakeSeed()
	m.keyKind = keyKindOf[K]()
	m.keyUpdate = keyUpdateOf[K]()
	m.mayPanic = holdsInterface(reflect.TypeFor[K]())
	m.intSeed = rand.Uint64()
	m.inline = storesInline[V]()
	m.flat = m.inline && m.keyKind != otherKey
	m.addWord = m.flat && isWordInteger[V]()
	if !m.inline {
		m.pointerWords = pointerWordsOf[V]()
	}
	m.shift = uint8(64 - bitsFor(count))
	m.shards = make([]shard[K, V], count)
	for i := range m.shards {
		m.shards[i].table = &m.tables[i]
		if n > 0 {
			m.shards[i].rebuild(m, nil, (n+count-1)/count)
		}
	}
	m.ready.Store(true)
}

// shardCount returns the number of shards for a new Map: a power of two
// comfortably above the number of goroutines that can run at once, so that
// concurrent writers rarely wait for each other.
func shardCount() int {
	n := 1
	for n < 4*runtime.GOMAXPROCS(0) && n < maxShards {
		n *= 2
	}
	return n
}

// bitsFor returns log2(n) for a power of two n.
func bitsFor(n int) int {
	b := 0
	for 1<<b < n {
		b++
	}
	return b
}

// writable prepares m for a write, initialising a zero Map. A write to a nil
// *Map panics as it does on a nil built-in map.
func (m *Map[K, V]) writable() {
	if m == nil {
		assignToNilMap[K, V](nil)
	}
	if m.ready.Load() {
		return
	}
	m.initMu.Lock()
	defer m.initMu.Unlock()
	if !m.ready.Load() {
		m.init(0)
	}
}

// readable reports whether m has any state to read: a nil *Map or a zero Map
// reads as empty. When it has none it still hashes k, so that an unhashable
// key panics as it would in a built-in map.
func (m *Map[K, V]) readable(k K) bool {
	if m != nil && m.ready.Load() {
		return true
	}
	hashForPanic(k)
	return false
}

// hashForPanic looks k up in a nil built-in map, only for the panic an
// unhashable key causes there, so that the message is the built-in map's.
func hashForPanic[K comparable](k K) {
	var empty map[K]struct{}
	_ = empty[k]
}

// hash returns the hash of k. The two hot paths, Load and lockExisting,
// repeat this switch rather than call hash, as the compiler does not inline
// it into them.
func (m *Map[K, V]) hash(k K) uint64 {
	switch m.keyKind {
	case integerKey:
		return hashInt(m.intSeed, intBits(k))
	case stringKey:
		return maphash.String(m.seed, stringOf(k))
	default:
		return maphash.Comparable(m.seed, k)
	}
}

// hashOther returns the hash of k, a key that is neither an integer nor a
// string. A key that cannot be hashed, such as an interface holding a
// slice, panics as it does in a built-in map, whose message depends on the
// map and the operation: a lookup or delete in an empty map reports
// "hash of unhashable type: []int", anything else the hash function's
// "runtime error: hash of unhashable type []int". lookup says whether the
// operation replaced starts with a lookup; the assignments m[k] = v,
// m[k] op= x and m[k] = append(m[k], x) do not.
func (m *Map[K, V]) hashOther(k K, lookup bool) uint64 {
	if !m.mayPanic {
		return maphash.Comparable(m.seed, k)
	}
	h, ok := tryHash(m.seed, k)
	if !ok {
		if lookup && m.Len() == 0 {
			hashForPanic(k)
		}
		maphash.Comparable(m.seed, k) // panics again, with the hash function's message
	}
	return h
}

// tryHash returns the hash of k, or false if k cannot be hashed.
func tryHash[K comparable](seed maphash.Seed, k K) (h uint64, ok bool) {
	defer func() {
		if !ok {
			recover()
		}
	}()
	return maphash.Comparable(seed, k), true
}

// lock hashes k and locks and returns its shard, for a write. It
// initialises a zero Map, and panics for a nil *Map as a write to a nil
// built-in map does. It does the work of writable, hash and choosing the
// shard in one call, as it is on the path of every write. lookup says
// whether the operation starts with a lookup, as in hashOther.
func (m *Map[K, V]) lock(k K, lookup bool) (uint64, *shard[K, V]) {
	if m == nil || !m.ready.Load() {
		m.writable()
	}
	return m.lockExisting(k, lookup)
}

// lockExisting is lock for a Map known to be initialised.
func (m *Map[K, V]) lockExisting(k K, lookup bool) (uint64, *shard[K, V]) {
	var h uint64
	switch m.keyKind {
	case integerKey:
		h = hashInt(m.intSeed, intBits(k))
	case stringKey:
		h = maphash.String(m.seed, stringOf(k))
	default:
		h = m.hashOther(k, lookup)
	}
	s := &m.shards[h>>m.shift]
	s.mu.Lock()
	return h, s
}

// valueOf returns the value held by e. It is small enough to be inlined
// for values kept in e.word.
func (m *Map[K, V]) valueOf(e *entry[K, V]) V {
	if m.inline {
		return fromWord[V](e.word.Load())
	}
	return m.loadCell(e)
}

// loadCell returns the value held in e.val, copied whole: if a write
// changes e.word meanwhile, it copies again.
func (m *Map[K, V]) loadCell(e *entry[K, V]) V {
	for {
		seq := e.word.Load()
		if seq&1 == 0 {
			var c cell[V]
			loadWords(unsafe.Pointer(&c), unsafe.Pointer(&e.val), m.pointerWords)
			if e.word.Load() == seq {
				return c.v
			}
		}
		runtime.Gosched() // a write is under way
	}
}

// newEntry returns an entry holding k and v.
func (m *Map[K, V]) newEntry(k K, v V) *entry[K, V] {
	e := &entry[K, V]{key: k}
	if m.inline {
		e.word.Store(toWord(v))
	} else {
		e.val.v = v // not yet shared
	}
	return e
}

// slot is where a lookup found a key: slot i of grp, holding e, in a table
// of entries, or slot i of flat in a flat table. For an absent key, e and
// flat are nil.
type slot[K comparable, V any] struct {
	grp  *group[K, V]
	e    *entry[K, V]
	flat *flatGroup[K]
	i    int
}

// found reports whether the lookup that returned r found its key.
func (r slot[K, V]) found() bool { return r.e != nil || r.flat != nil }

// lookup returns the slot of t holding k, whose hash is h. It is safe
// without the shard's lock; writers call it with the lock held.
func (m *Map[K, V]) lookup(t *table[K, V], h uint64, k K) slot[K, V] {
	if m.flat {
		grp, i := t.findFlat(h, k)
		return slot[K, V]{flat: grp, i: i}
	}
	grp, i, e := t.find(h, k)
	return slot[K, V]{grp: grp, e: e, i: i}
}

// value returns the value held at r, a slot that holds a key.
func (m *Map[K, V]) value(r slot[K, V]) V {
	if r.flat != nil {
		return fromWord[V](r.flat.slots[r.i].val.Load())
	}
	return m.valueOf(r.e)
}

// set changes the value at r, a slot found for key k, to v. The caller
// holds the shard's lock, so it is the only writer of r.
//
// Like an assignment to a built-in map, it also stores k, which differs
// from the key stored when the two are equal but not identical, as 0 and
// -0 are. Keys never change in place, so the entry is then replaced.
// Integer and string keys, the only keys of flat tables, are identical when
// equal.
func (m *Map[K, V]) set(r slot[K, V], k K, v V) {
	if r.flat != nil {
		r.flat.slots[r.i].val.Store(toWord(v)) // kept small enough to inline
		return
	}
	if m.inline && m.keyUpdate == noKeyUpdate {
		r.e.word.Store(toWord(v))
		return
	}
	m.setEntry(r.grp, r.i, r.e, k, v)
}

// setEntry is set in a table of entries, for the value of e, found in slot
// i of grp.
func (m *Map[K, V]) setEntry(grp *group[K, V], i int, e *entry[K, V], k K, v V) {
	if m.keyUpdate != noKeyUpdate && !m.identicalKeys(e.key, k) {
		grp.slots[i].Store(m.newEntry(k, v))
		return
	}
	if m.inline {
		e.word.Store(toWord(v))
		return
	}
	c := cell[V]{v: v}
	seq := e.word.Load()
	e.word.Store(seq + 1)
	storeWords(unsafe.Pointer(&e.val), unsafe.Pointer(&c), m.pointerWords)
	e.word.Store(seq + 2)
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
	var zero V
	if m == nil || !m.ready.Load() {
		hashForPanic(k)
		return zero, false
	}
	// This is the lock-free read path. It is written out in full, without
	// calls for integer keys, because it is the hottest code of the package.
	var h uint64
	switch m.keyKind {
	case integerKey:
		h = hashInt(m.intSeed, intBits(k))
	case stringKey:
		h = maphash.String(m.seed, stringOf(k))
	default:
		h = m.hashOther(k, true)
	}
	t := m.tables[(h>>m.shift)%maxShards].Load()
	if t == nil {
		return zero, false
	}
	tag := tagOf(h)
	g := t.groupIndex(h)
	if m.flat {
		for step := uint64(1); ; step++ {
			grp := &t.flat[g]
			ctrl := grp.ctrl.Load()
			for match := matchTag(ctrl, tag); match != 0; match &= match - 1 {
				if s := &grp.slots[firstByte(match)]; s.key == k {
					return fromWord[V](s.val.Load()), true
				}
			}
			if hasEmpty(ctrl) {
				return zero, false
			}
			g = (g + step) & t.mask
		}
	}
	for step := uint64(1); ; step++ {
		grp := &t.groups[g]
		ctrl := grp.ctrl.Load()
		for match := matchTag(ctrl, tag); match != 0; match &= match - 1 {
			if e := grp.slots[firstByte(match)].Load(); e != nil && e.key == k {
				if m.inline {
					return fromWord[V](e.word.Load()), true
				}
				return m.loadCell(e), true
			}
		}
		if hasEmpty(ctrl) {
			return zero, false
		}
		g = (g + step) & t.mask
	}
}

// Store sets the value for k. It replaces the assignment m[k] = v.
func (m *Map[K, V]) Store(k K, v V) {
	h, s := m.lock(k, false)
	if m.flat {
		// The steps of lookup and set below, written out for flat
		// tables: on this, the hottest write path, their calls cost
		// about a tenth of a write.
		if grp, i := s.table.Load().findFlat(h, k); grp != nil {
			grp.slots[i].val.Store(toWord(v))
		} else {
			s.insert(m, h, k, v)
		}
		s.mu.Unlock()
		return
	}
	if r := m.lookup(s.table.Load(), h, k); r.found() {
		m.set(r, k, v)
	} else {
		s.insert(m, h, k, v)
	}
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
	if !m.ready.Load() {
		return
	}
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		s.clear(m)
		s.mu.Unlock()
	}
}

// Len returns the number of entries. It replaces len(m).
// Under concurrent writes the result is a count at some moment during the call.
func (m *Map[K, V]) Len() int {
	if m == nil {
		return 0
	}
	if !m.ready.Load() {
		return 0
	}
	n := int64(0)
	for i := range m.shards {
		n += m.shards[i].count.Load()
	}
	return int(n)
}

// LoadOrStore returns the value stored for k if there is one (loaded is true);
// otherwise it stores v and returns it (loaded is false), in one atomic step.
// It replaces: if old, ok := m[k]; ok { use old } else { m[k] = v }.
func (m *Map[K, V]) LoadOrStore(k K, v V) (actual V, loaded bool) {
	h, s := m.lock(k, true)
	defer s.mu.Unlock()
	if r := m.lookup(s.table.Load(), h, k); r.found() {
		return m.value(r), true
	}
	s.insert(m, h, k, v)
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
	}
	h, s := m.lock(k, true)
	defer s.mu.Unlock()
	if r := m.lookup(s.table.Load(), h, k); r.found() {
		return m.value(r), true
	}
	v := f()
	s.insert(m, h, k, v)
	return v, false
}

// LoadAndDelete removes the entry for k and returns the value it held and
// whether there was one, in one atomic step.
// It replaces: v, ok := m[k]; delete(m, k).
func (m *Map[K, V]) LoadAndDelete(k K) (V, bool) {
	if !m.readable(k) {
		var zero V
		return zero, false
	}
	h, s := m.lockExisting(k, true)
	defer s.mu.Unlock()
	r := m.lookup(s.table.Load(), h, k)
	if !r.found() {
		var zero V
		return zero, false
	}
	v := m.value(r)
	s.remove(r)
	return v, true
}

// Swap stores v for k and returns the previous value and whether there was
// one, in one atomic step.
// It replaces: previous, loaded := m[k]; m[k] = v.
func (m *Map[K, V]) Swap(k K, v V) (previous V, loaded bool) {
	h, s := m.lock(k, true)
	defer s.mu.Unlock()
	if r := m.lookup(s.table.Load(), h, k); r.found() {
		previous = m.value(r)
		m.set(r, k, v)
		return previous, true
	}
	s.insert(m, h, k, v)
	return previous, false
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
	}
	h, s := m.lock(k, false)
	defer s.mu.Unlock()
	if r := m.lookup(s.table.Load(), h, k); r.found() {
		v := f(m.value(r))
		m.set(r, k, v)
		return v
	}
	var zero V
	v := f(zero)
	s.insert(m, h, k, v)
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
	var zero V
	if m == nil {
		// Like a nil built-in map, a nil *Map is only written to, and so
		// only panics, if f asks for it.
		if _, op := f(zero, false); op == UpdateOp {
			assignToNilMap[K, V](nil)
		}
		return zero, false
	}
	h, s := m.lock(k, true)
	defer s.mu.Unlock()
	r := m.lookup(s.table.Load(), h, k)
	old, loaded := zero, r.found()
	if loaded {
		old = m.value(r)
	}
	v, op := f(old, loaded)
	switch {
	case op == UpdateOp && loaded:
		m.set(r, k, v)
		return v, true
	case op == UpdateOp:
		s.insert(m, h, k, v)
		return v, true
	case op == DeleteOp && loaded:
		s.remove(r)
		return zero, false
	case op == DeleteOp:
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
	h, s := m.lock(k, false)
	v := delta
	if m.addWord {
		// A flat table, written as in Store, and one locked instruction
		// that takes the value's cache line once, where a load and a
		// store may take it twice when another core wrote it last, as
		// for a hot key.
		if grp, i := s.table.Load().findFlat(h, k); grp != nil {
			v = fromWord[V](grp.slots[i].val.Add(toWord(delta)))
		} else {
			s.insert(m, h, k, v)
		}
	} else if r := m.lookup(s.table.Load(), h, k); r.found() {
		v = m.value(r) + delta // old + delta: for strings the order matters
		m.set(r, k, v)
	} else {
		s.insert(m, h, k, v)
	}
	s.mu.Unlock()
	return v
}

// CompareAndSwap stores new for k if k is present and its value equals old,
// and reports whether it did, in one atomic step. An absent key is never
// swapped, as in sync.Map.
// It replaces: if v, ok := m[k]; ok && v == old { m[k] = new }.
func CompareAndSwap[K, V comparable](m *Map[K, V], k K, old, new V) bool {
	if !m.readable(k) {
		return false
	}
	h, s := m.lockExisting(k, true)
	defer s.mu.Unlock()
	if r := m.lookup(s.table.Load(), h, k); r.found() && m.value(r) == old {
		m.set(r, k, new)
		return true
	}
	return false
}

// CompareAndDelete deletes the entry for k if its value equals old, and
// reports whether it did, in one atomic step.
// It replaces: if v, ok := m[k]; ok && v == old { delete(m, k) }.
func CompareAndDelete[K, V comparable](m *Map[K, V], k K, old V) bool {
	if !m.readable(k) {
		return false
	}
	h, s := m.lockExisting(k, true)
	defer s.mu.Unlock()
	if r := m.lookup(s.table.Load(), h, k); r.found() && m.value(r) == old {
		s.remove(r)
		return true
	}
	return false
}
