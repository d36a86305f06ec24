package safemap

import "sync/atomic"

// A Map whose keys are integers or strings and whose values are stored
// inline (see storesInline) keeps both in its tables' groups, instead of in
// a separately allocated entry per key: a flat table. A lookup or an
// overwrite then touches one group where a table of entries touches a group
// and an entry, which saves a cache miss per operation once the map is
// larger than the cache, and an insert allocates nothing. For a string key
// the group holds the string's header, as the built-in map's does, so a
// lookup follows the group to the key's bytes and no further.
//
// The key is stored as a K and read with a plain load, the value as a
// 64-bit word with atomic operations. Both are correct only while the slot
// still belongs to the key the reader matched, so a slot of a flat table is
// never reused: its key is written before the atomic store of its control
// byte that marks it full, and never written again; deleting the key marks
// the slot deleted for good, leaving the key and its last value in place for
// readers that matched it just before; and only a rebuild, which builds a
// new table, frees deleted slots. A reader reads a slot's key only after an
// atomic load of the control word showed the slot full, so that load
// happens after the key's write and the two do not race. (A deleted string
// key's bytes therefore stay reachable until its shard's next rebuild.)
//
// Only keys whose equal values are identical use flat tables: a write of an
// equal key never has to replace the key stored (see keyUpdate).

// flatSlot is one key and its value word.
type flatSlot[K comparable] struct {
	key K
	val atomic.Uint64
}

// flatGroup is seven slots of a flat table and their control word, which
// works as in a group of entries (see table.go). The slots come first and
// the control word last, with a word of padding, so that for integer keys
// the group is 128 bytes, two cache lines, and each slot's key and value, 16
// bytes at a multiple of 16, share a line: an overwrite stores into the line
// the key comparison just loaded. For string keys a slot is 24 bytes and
// the group 184.
type flatGroup[K comparable] struct {
	slots [groupSize]flatSlot[K]
	ctrl  atomic.Uint64
	_     uint64
}

// findFlat returns the group and slot of a flat table holding k, whose hash
// is h, or a nil group. It is safe without the shard's lock. A nil table is
// empty.
func (t *table[K, V]) findFlat(h uint64, k K) (*flatGroup[K], int) {
	if t == nil {
		return nil, 0
	}
	tag := tagOf(h)
	g := t.groupIndex(h)
	for step := uint64(1); ; step++ {
		grp := &t.flat[g]
		ctrl := grp.ctrl.Load()
		for match := matchTag(ctrl, tag); match != 0; match &= match - 1 {
			// matchTag marks only full slots (see matchTag), whose keys
			// were written before ctrl was stored.
			if i := firstByte(match); grp.slots[i].key == k {
				return grp, i
			}
		}
		if hasEmpty(ctrl) {
			return nil, 0
		}
		g = (g + step) & t.mask
	}
}

// placeFlat puts k, whose hash is h, and value word v into the first empty
// slot of a flat table along h's probe sequence. The caller holds the
// shard's lock and knows k is not in t. Deleted slots are skipped: they are
// never reused.
func (t *table[K, V]) placeFlat(h uint64, k K, v uint64) {
	g := t.groupIndex(h)
	for step := uint64(1); ; step++ {
		grp := &t.flat[g]
		ctrl := grp.ctrl.Load()
		// The lowest byte the zero-byte test marks is always zero; a
		// higher mark may come from a deleted byte (1) above it.
		if empty := (ctrl - lsbs) &^ ctrl & slotMsbs; empty != 0 {
			i := firstByte(empty)
			grp.slots[i].key = k
			grp.slots[i].val.Store(v)
			grp.ctrl.Store(setByte(ctrl, i, tagOf(h)))
			return
		}
		g = (g + step) & t.mask
	}
}

// eachFlat calls f with the key and value word of every full slot of a flat
// table until f returns false, and reports whether f never did.
func (t *table[K, V]) eachFlat(f func(k K, v uint64) bool) bool {
	if t == nil {
		return true
	}
	for gi := range t.flat {
		grp := &t.flat[gi]
		ctrl := grp.ctrl.Load()
		for full := ctrl & slotMsbs; full != 0; full &= full - 1 {
			i := firstByte(full)
			if !f(grp.slots[i].key, grp.slots[i].val.Load()) {
				return false
			}
		}
	}
	return true
}
