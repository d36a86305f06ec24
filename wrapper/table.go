package safemap

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// The entries of a Map are spread over shards by hash. Each shard owns an
// open-addressing hash table that readers search without locking: every
// field a reader touches is read with an atomic load, and a table is never
// rearranged in place. Writers take the shard's mutex, change slots with
// atomic stores in an order that keeps concurrent readers correct, and grow
// a table by building a new one and publishing it with one atomic store.
//
// A table is an array of groups of seven slots. Each group has a control word
// with one byte per slot:
//
//	0x00          empty: the slot has never been used since the last rehash
//	0x01          deleted: the slot held an entry that was removed
//	0x80 | tag    full: the slot holds an entry whose hash has this tag
//
// and an eighth byte that is always 0xff, a value no tag takes. A group is 64
// bytes, one cache line, so that a probe touches one line before the entry.
// A lookup compares the tag with all the bytes at once, follows only the
// slots that match, and stops at the first group with an empty byte. Maps
// with integer or string keys and one-word values use flat groups instead,
// which hold the keys and values themselves (see flat.go).

const (
	groupSize   = 7
	ctrlEmpty   = 0x00
	ctrlDeleted = 0x01

	// emptyGroup is the control word of a group with every slot empty.
	emptyGroup = 0xff << (8 * groupSize)

	lsbs      = 0x0101010101010101 // the low bit of every byte
	msbs      = 0x8080808080808080 // the high bit of every byte
	slotMsbs  = msbs &^ emptyGroup // the high bit of every slot's byte
	maxTagged = 0xfe               // the largest control byte of a full slot
)

// entry is one key and its value. Its key never changes; its value is
// changed in place, under the shard's lock, and read without it.
//
// A value that fits in 64 bits and holds no pointers (see storesInline) is
// kept in word and changed with one atomic store. Any other value is kept
// in val, whose machine words writers store and readers load one at a time
// with atomic operations; word then counts the writes, odd while one is
// under way, and a reader that sees it change while copying val copies
// again, as with a seqlock.
type entry[K comparable, V any] struct {
	key  K
	word atomic.Uint64
	val  cell[V]
}

// group is eight slots and their control bytes.
type group[K comparable, V any] struct {
	ctrl  atomic.Uint64
	slots [groupSize]atomic.Pointer[entry[K, V]]
}

// table is one hash table of a shard: groups of entries, or for a Map with
// flat tables (see flat.go) flat groups. Its group slices never change: a
// table is replaced, not resized.
type table[K comparable, V any] struct {
	groups []group[K, V]
	flat   []flatGroup[K]
	mask   uint64 // len(groups)-1 or len(flat)-1: a power of two, less one
}

// shard is one lock domain of a Map.
type shard[K comparable, V any] struct {
	// table points to the shard's entry in Map.tables.
	table *atomic.Pointer[table[K, V]]

	mu     sync.Mutex
	count  atomic.Int64 // live entries; written under mu, read by Len
	used   int          // full and deleted slots of table; guarded by mu
	growAt int          // used limit before the table is rebuilt; guarded by mu
	_      [24]byte     // keep shards on separate cache lines
}

// tagOf returns the control byte of a full slot for hash h.
func tagOf(h uint64) uint64 { return min(0x80|h&0x7f, maxTagged) }

// groupIndex returns the first group to probe for hash h.
func (t *table[K, V]) groupIndex(h uint64) uint64 { return (h >> 7) & t.mask }

// matchTag returns a word with the high bit set in each slot's byte of ctrl
// equal to tag. It may also mark a byte just above a true match, which
// callers filter out by comparing keys; such a byte equals tag^1, so every
// byte marked is that of a full slot.
func matchTag(ctrl, tag uint64) uint64 {
	x := ctrl ^ (lsbs * tag)
	return (x - lsbs) &^ x & slotMsbs
}

// hasEmpty reports whether some byte of ctrl is ctrlEmpty.
func hasEmpty(ctrl uint64) bool {
	return (ctrl-lsbs)&^ctrl&msbs != 0
}

// firstByte returns the index of the lowest byte marked in a match word.
func firstByte(match uint64) int { return bits.TrailingZeros64(match) / 8 }

// setByte returns ctrl with byte i set to b.
func setByte(ctrl uint64, i int, b uint64) uint64 {
	shift := uint(i) * 8
	return ctrl&^(0xff<<shift) | b<<shift
}

// find returns the group and slot holding k, and its entry, or a nil entry.
// It is safe without the shard's lock. A nil table is empty.
func (t *table[K, V]) find(h uint64, k K) (*group[K, V], int, *entry[K, V]) {
	if t == nil {
		return nil, 0, nil
	}
	tag := tagOf(h)
	g := t.groupIndex(h)
	for step := uint64(1); ; step++ {
		grp := &t.groups[g]
		ctrl := grp.ctrl.Load()
		for match := matchTag(ctrl, tag); match != 0; match &= match - 1 {
			i := firstByte(match)
			if e := grp.slots[i].Load(); e != nil && e.key == k {
				return grp, i, e
			}
		}
		if hasEmpty(ctrl) {
			return nil, 0, nil
		}
		g = (g + step) & t.mask
	}
}

// groupsFor returns the number of groups of a table that holds n entries
// before it must grow: a power of two.
func groupsFor(n int) int {
	groups := 1
	for groups*groupSize*7/8 < n {
		groups *= 2
	}
	return groups
}

// newTable returns an empty table of the given number of groups, flat or of
// entries.
func newTable[K comparable, V any](groups int, flat bool) *table[K, V] {
	t := &table[K, V]{mask: uint64(groups - 1)}
	if flat {
		t.flat = make([]flatGroup[K], groups)
		for i := range t.flat {
			t.flat[i].ctrl.Store(emptyGroup)
		}
		return t
	}
	t.groups = make([]group[K, V], groups)
	for i := range t.groups {
		t.groups[i].ctrl.Store(emptyGroup)
	}
	return t
}

// groupCount returns the number of groups of t.
func (t *table[K, V]) groupCount() int { return int(t.mask) + 1 }

// place puts e into the first free slot of t along h's probe sequence and
// reports whether that slot had never been used. The caller holds the
// shard's lock and knows e's key is not in t. The slot is filled before its
// control byte marks it full, so a reader that sees the tag finds the entry.
func (t *table[K, V]) place(h uint64, e *entry[K, V]) (wasEmpty bool) {
	g := t.groupIndex(h)
	for step := uint64(1); ; step++ {
		grp := &t.groups[g]
		ctrl := grp.ctrl.Load()
		if free := ^ctrl & slotMsbs; free != 0 {
			i := firstByte(free)
			grp.slots[i].Store(e)
			grp.ctrl.Store(setByte(ctrl, i, tagOf(h)))
			return byte(ctrl>>(uint(i)*8)) == ctrlEmpty
		}
		g = (g + step) & t.mask
	}
}

// insert adds k, which is absent, with value v to the shard, rebuilding the
// table first if it is full. The caller holds s.mu.
func (s *shard[K, V]) insert(m *Map[K, V], h uint64, k K, v V) {
	t := s.table.Load()
	if t == nil || s.used >= s.growAt {
		t = s.rebuild(m, t, 2*int(s.count.Load()))
	}
	if m.flat {
		t.placeFlat(h, k, toWord(v))
		s.used++
	} else if t.place(h, m.newEntry(k, v)) {
		s.used++
	}
	s.count.Add(1)
}

// rebuild replaces the shard's table by a new one with room for n entries,
// holding the live entries of old, and returns it. The old table is left as
// it was, so readers still searching it see a consistent map. The caller
// holds s.mu.
func (s *shard[K, V]) rebuild(m *Map[K, V], old *table[K, V], n int) *table[K, V] {
	t := newTable[K, V](groupsFor(n), m.flat)
	used := 0
	if old != nil && m.flat {
		old.eachFlat(func(k K, v uint64) bool {
			t.placeFlat(m.hash(k), k, v)
			used++
			return true
		})
	} else if old != nil {
		for gi := range old.groups {
			grp := &old.groups[gi]
			for i := range grp.slots {
				if e := grp.slots[i].Load(); e != nil {
					t.place(m.hash(e.key), e)
					used++
				}
			}
		}
	}
	s.used = used
	s.growAt = t.groupCount() * groupSize * 7 / 8
	s.table.Store(t)
	return t
}

// remove deletes the key found at r. The caller holds s.mu. A slot of
// entries is marked free before it is emptied, so a reader either finds the
// entry or nothing, never a wrong one; a flat slot is marked deleted and
// left as it is (see flat.go).
func (s *shard[K, V]) remove(r slot[K, V]) {
	if r.flat != nil {
		r.flat.ctrl.Store(setByte(r.flat.ctrl.Load(), r.i, ctrlDeleted))
		s.count.Add(-1)
		return
	}
	grp, i := r.grp, r.i
	ctrl := grp.ctrl.Load()
	if hasEmpty(ctrl) {
		// No probe sequence has gone past this group, so the slot can
		// become empty again instead of deleted.
		grp.ctrl.Store(setByte(ctrl, i, ctrlEmpty))
		s.used--
	} else {
		grp.ctrl.Store(setByte(ctrl, i, ctrlDeleted))
	}
	grp.slots[i].Store(nil)
	s.count.Add(-1)
}

// clear removes every entry of the shard, keeping its table's capacity as
// clear does for a built-in map. The caller holds s.mu. A flat table, whose
// slots are never reused, is replaced by an empty one of the same size.
func (s *shard[K, V]) clear(m *Map[K, V]) {
	t := s.table.Load()
	if t == nil {
		return
	}
	if m.flat {
		s.table.Store(newTable[K, V](t.groupCount(), true))
		s.used = 0
		s.count.Store(0)
		return
	}
	for gi := range t.groups {
		grp := &t.groups[gi]
		if grp.ctrl.Load() == emptyGroup {
			continue
		}
		grp.ctrl.Store(emptyGroup)
		for i := range grp.slots {
			grp.slots[i].Store(nil)
		}
	}
	s.used = 0
	s.count.Store(0)
}

// each calls f for every entry of t until f returns false, and reports
// whether f never did.
func (t *table[K, V]) each(f func(*entry[K, V]) bool) bool {
	if t == nil {
		return true
	}
	for gi := range t.groups {
		grp := &t.groups[gi]
		if grp.ctrl.Load()&slotMsbs == 0 {
			continue // no full slot
		}
		for i := range grp.slots {
			if e := grp.slots[i].Load(); e != nil && !f(e) {
				return false
			}
		}
	}
	return true
}
