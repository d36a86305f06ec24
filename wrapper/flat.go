package safemap

import (
	"sync/atomic"
	"unsafe"
)

// A Map whose keys are integers and whose values are stored inline (see
// storesInline) keeps both in its tables' groups, as 64-bit words, instead of
// in a separately allocated entry per key: a flat table. A lookup or an
// overwrite then touches one group where a table of entries touches a group
// and an entry, which saves a cache miss per operation once the map is
// larger than the cache, and an insert allocates nothing.
//
// Readers load the control word, then the key and the value of a matching
// slot, each atomically. That is correct only while the slot still belongs
// to the key the reader matched, so a slot of a flat table is never reused:
// its key word is stored before its control byte marks it full and never
// changes after; deleting the key marks the slot deleted for good, leaving
// the key and its last value in place for readers that matched it just
// before; and only a rebuild, which builds a new table, frees deleted slots.

// flatGroup is seven slots of a flat table and their control word, which
// works as in a group of entries (see table.go). It is 128 bytes, two cache
// lines: the first holds the control word and slots 0 to 2, the second
// slots 3 to 6, each slot a key word followed by a value word, so that the
// key a lookup compares and the value a write then stores share a line.
type flatGroup struct {
	ctrl  atomic.Uint64
	words [15]atomic.Uint64 // slot i's key is words[keyWord(i)], its value the next
}

// keyWord returns the index in flatGroup.words of slot i's key: 0, 2, 4 for
// the first line, then 7, 9, 11, 13 after a word of padding.
func keyWord(i int) int { return 2*i + (i+1)>>2 }

// key returns slot i's key word.
func (g *flatGroup) key(i int) *atomic.Uint64 { return &g.words[keyWord(i)] }

// val returns slot i's value word.
func (g *flatGroup) val(i int) *atomic.Uint64 { return &g.words[keyWord(i)+1] }

// keyFromBits returns the integer key whose bits are x: the inverse of
// intBits.
func keyFromBits[K any](x uint64) K {
	var k K
	switch unsafe.Sizeof(k) {
	case 8:
		*(*uint64)(unsafe.Pointer(&k)) = x
	case 4:
		*(*uint32)(unsafe.Pointer(&k)) = uint32(x)
	case 2:
		*(*uint16)(unsafe.Pointer(&k)) = uint16(x)
	case 1:
		*(*uint8)(unsafe.Pointer(&k)) = uint8(x)
	default:
		panic("safemap: not an integer key")
	}
	return k
}

// findFlat returns the group and slot of a flat table holding the key whose
// bits are x and hash is h, or a nil group. It is safe without the shard's
// lock. A nil table is empty.
func (t *table[K, V]) findFlat(h, x uint64) (*flatGroup, int) {
	if t == nil {
		return nil, 0
	}
	tag := tagOf(h)
	g := t.groupIndex(h)
	for step := uint64(1); ; step++ {
		grp := &t.flat[g]
		ctrl := grp.ctrl.Load()
		for match := matchTag(ctrl, tag); match != 0; match &= match - 1 {
			if i := firstByte(match); grp.key(i).Load() == x {
				return grp, i
			}
		}
		if hasEmpty(ctrl) {
			return nil, 0
		}
		g = (g + step) & t.mask
	}
}

// placeFlat puts key bits x with hash h and value word v into the first
// empty slot of a flat table along h's probe sequence. The caller holds the
// shard's lock and knows the key is not in t. Deleted slots are skipped:
// they are never reused.
func (t *table[K, V]) placeFlat(h, x, v uint64) {
	g := t.groupIndex(h)
	for step := uint64(1); ; step++ {
		grp := &t.flat[g]
		ctrl := grp.ctrl.Load()
		// The lowest byte the zero-byte test marks is always zero; a
		// higher mark may come from a deleted byte (1) above it.
		if empty := (ctrl - lsbs) &^ ctrl & slotMsbs; empty != 0 {
			i := firstByte(empty)
			grp.key(i).Store(x)
			grp.val(i).Store(v)
			grp.ctrl.Store(setByte(ctrl, i, tagOf(h)))
			return
		}
		g = (g + step) & t.mask
	}
}

// eachFlat calls f with the key bits and value word of every full slot of a
// flat table until f returns false, and reports whether f never did.
func (t *table[K, V]) eachFlat(f func(x, v uint64) bool) bool {
	if t == nil {
		return true
	}
	for gi := range t.flat {
		grp := &t.flat[gi]
		ctrl := grp.ctrl.Load()
		for full := ctrl & slotMsbs; full != 0; full &= full - 1 {
			i := firstByte(full)
			if !f(grp.key(i).Load(), grp.val(i).Load()) {
				return false
			}
		}
	}
	return true
}
