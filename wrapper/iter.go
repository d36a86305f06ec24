package safemap

import "iter"

// All returns an iterator over the entries of m. It replaces
// for k, v := range m.
//
// No lock is held while the loop body runs, so the body may read and write m.
// As with a built-in map, the order is unspecified, an entry deleted before
// it is reached is not produced, and an entry added during the loop may or
// may not be produced. The value produced for a key is its value when the
// key is reached.
func (m *Map[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		if m == nil {
			return
		}
		if !m.ready.Load() {
			return
		}
		for i := range m.shards {
			if !m.eachLive(&m.shards[i], yield) {
				return
			}
		}
	}
}

// eachLive calls yield for the entries of s until yield returns false, and
// reports whether yield never did. It holds no lock.
//
// It walks the table s had when it started. If s rebuilds its table in the
// meantime, the old table no longer sees writes, so each entry found there
// is looked up again in the current table to skip deleted keys and produce
// current values.
func (m *Map[K, V]) eachLive(s *shard[K, V], yield func(K, V) bool) bool {
	t := s.table.Load()
	return m.each(t, func(k K, v V) bool {
		if cur := s.table.Load(); cur != t && k == k {
			// A key not equal to itself (NaN) cannot be looked up; it
			// is produced from the old table.
			r := m.lookup(cur, m.hash(k), k)
			if !r.found() {
				return true
			}
			v = m.value(r)
			if r.e != nil {
				// The key stored now, which may differ from an
				// equal one stored before, as 0 from -0.
				k = r.e.key
			}
		}
		return yield(k, v)
	})
}

// each calls f with every key of t and its value until f returns false,
// and reports whether f never did.
func (m *Map[K, V]) each(t *table[K, V], f func(K, V) bool) bool {
	if m.flat {
		return t.eachFlat(func(k K, v uint64) bool {
			return f(k, fromWord[V](v))
		})
	}
	return t.each(func(e *entry[K, V]) bool {
		return f(e.key, m.valueOf(e))
	})
}

// Keys returns an iterator over the keys of m. It replaces for k := range m.
// It behaves like All.
func (m *Map[K, V]) Keys() iter.Seq[K] {
	return func(yield func(K) bool) {
		for k := range m.All() {
			if !yield(k) {
				return
			}
		}
	}
}

// Values returns an iterator over the values of m. It replaces
// for _, v := range m. It behaves like All.
func (m *Map[K, V]) Values() iter.Seq[V] {
	return func(yield func(V) bool) {
		for _, v := range m.All() {
			if !yield(v) {
				return
			}
		}
	}
}

// Clone returns a built-in map holding the entries of m, or nil if m is nil.
// It replaces maps.Clone(m), and a getter returning the map itself. Each
// shard is copied atomically; the map as a whole is not frozen while it is
// copied.
func (m *Map[K, V]) Clone() map[K]V {
	return m.copyShards(false)
}

// TakeAll removes every entry from m and returns them as a built-in map. Each
// entry is either returned or left for later, never lost to a concurrent
// writer: it replaces the idiom old := m; m = make(map[K]V) used to drain a
// map. A nil m gives a nil map.
func (m *Map[K, V]) TakeAll() map[K]V {
	return m.copyShards(true)
}

// copyShards copies the entries of m into a built-in map, one shard at a
// time under its lock, and clears each shard copied if take is set.
func (m *Map[K, V]) copyShards(take bool) map[K]V {
	if m == nil {
		return nil
	}
	out := make(map[K]V, m.Len())
	if !m.ready.Load() {
		return out
	}
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		m.each(s.table.Load(), func(k K, v V) bool {
			out[k] = v
			return true
		})
		if take {
			s.clear(m)
		}
		s.mu.Unlock()
	}
	return out
}
