package safemap

import "iter"

// All returns an iterator over the entries of m. It replaces
// for k, v := range m.
//
// No lock is held while the loop body runs, so the body may read and write m.
// As with a built-in map, the order is unspecified, an entry deleted before
// it is reached is not produced, and an entry added during the loop may or
// may not be produced.
func (m *Map[K, V]) All() iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		if m == nil {
			return
		}
		m.init(0)
		for i := range m.shards {
			if !m.shards[i].each(yield) {
				return
			}
		}
	}
}

// each calls yield for the entries of s until yield returns false, holding
// the lock only to take a snapshot. It reports whether yield never returned
// false.
func (s *shard[K, V]) each(yield func(K, V) bool) bool {
	type pair struct {
		k K
		v V
	}
	s.mu.Lock()
	snapshot := make([]pair, 0, len(s.m))
	for k, v := range s.m {
		snapshot = append(snapshot, pair{k, v})
	}
	s.mu.Unlock()
	for _, p := range snapshot {
		v := p.v
		if p.k == p.k { // a key not equal to itself (NaN) cannot be looked up
			s.mu.Lock()
			cur, ok := s.m[p.k]
			s.mu.Unlock()
			if !ok {
				continue // deleted since the snapshot
			}
			v = cur
		}
		if !yield(p.k, v) {
			return false
		}
	}
	return true
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
// It replaces maps.Clone(m) and a getter returning the map itself. Each shard
// is copied atomically; the map as a whole is not frozen while it is copied.
func (m *Map[K, V]) Clone() map[K]V {
	if m == nil {
		return nil
	}
	m.init(0)
	out := make(map[K]V)
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for k, v := range s.m {
			out[k] = v
		}
		s.mu.Unlock()
	}
	return out
}

// TakeAll removes every entry from m and returns them as a built-in map. Each
// entry is either returned or stays for later writers, never lost: it replaces
// the idiom old := m; m = make(map[K]V) used to drain a map.
// A nil m gives a nil map.
func (m *Map[K, V]) TakeAll() map[K]V {
	if m == nil {
		return nil
	}
	m.init(0)
	out := make(map[K]V)
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for k, v := range s.m {
			out[k] = v
		}
		clear(s.m)
		s.mu.Unlock()
	}
	return out
}
