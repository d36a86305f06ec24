package bench

import (
	"sync"

	"github.com/puzpuzpuz/xsync/v4"
	"github.com/safemapfix/safemapfix/wrapper"
)

// concurrentMap is the part of a concurrent map from K to int that the
// benchmarks exercise. Every implementation is called through this
// interface, so each pays the same small cost of a dynamic call.
type concurrentMap[K comparable] interface {
	Load(k K) (int, bool)
	Store(k K, v int)
	// Increment adds one to the value of k, atomically.
	Increment(k K)
	// Range calls f for every entry until f returns false.
	Range(f func(K, int) bool)
}

// implementation names a map type and makes empty maps of it.
type implementation[K comparable] struct {
	name string
	make func() concurrentMap[K]
}

func implementations[K comparable]() []implementation[K] {
	return []implementation[K]{
		{"safemap", func() concurrentMap[K] { return safeMap[K]{safemap.New[K, int]()} }},
		{"xsync", func() concurrentMap[K] { return xsyncMap[K]{xsync.NewMap[K, int]()} }},
		{"syncmap", func() concurrentMap[K] { return &syncMap[K]{} }},
		{"mutex", func() concurrentMap[K] { return &mutexMap[K]{m: map[K]int{}} }},
		{"rwmutex", func() concurrentMap[K] { return &rwMutexMap[K]{m: map[K]int{}} }},
	}
}

type safeMap[K comparable] struct{ m *safemap.Map[K, int] }

func (s safeMap[K]) Load(k K) (int, bool) { return s.m.Load(k) }
func (s safeMap[K]) Store(k K, v int)     { s.m.Store(k, v) }
func (s safeMap[K]) Increment(k K)        { safemap.Add(s.m, k, 1) }
func (s safeMap[K]) Range(f func(K, int) bool) {
	for k, v := range s.m.All() {
		if !f(k, v) {
			return
		}
	}
}

type xsyncMap[K comparable] struct{ m *xsync.Map[K, int] }

func (x xsyncMap[K]) Load(k K) (int, bool) { return x.m.Load(k) }
func (x xsyncMap[K]) Store(k K, v int)     { x.m.Store(k, v) }
func (x xsyncMap[K]) Increment(k K) {
	x.m.Compute(k, func(old int, _ bool) (int, xsync.ComputeOp) { return old + 1, xsync.UpdateOp })
}
func (x xsyncMap[K]) Range(f func(K, int) bool) { x.m.Range(f) }

type syncMap[K comparable] struct{ m sync.Map }

func (s *syncMap[K]) Load(k K) (int, bool) {
	v, ok := s.m.Load(k)
	if !ok {
		return 0, false
	}
	return v.(int), true
}
func (s *syncMap[K]) Store(k K, v int) { s.m.Store(k, v) }
func (s *syncMap[K]) Increment(k K) {
	for {
		old, loaded := s.m.LoadOrStore(k, 1)
		if !loaded || s.m.CompareAndSwap(k, old, old.(int)+1) {
			return
		}
	}
}
func (s *syncMap[K]) Range(f func(K, int) bool) {
	s.m.Range(func(k, v any) bool { return f(k.(K), v.(int)) })
}

type mutexMap[K comparable] struct {
	mu sync.Mutex
	m  map[K]int
}

func (s *mutexMap[K]) Load(k K) (int, bool) {
	s.mu.Lock()
	v, ok := s.m[k]
	s.mu.Unlock()
	return v, ok
}
func (s *mutexMap[K]) Store(k K, v int) {
	s.mu.Lock()
	s.m[k] = v
	s.mu.Unlock()
}
func (s *mutexMap[K]) Increment(k K) {
	s.mu.Lock()
	s.m[k]++
	s.mu.Unlock()
}
func (s *mutexMap[K]) Range(f func(K, int) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m {
		if !f(k, v) {
			return
		}
	}
}

type rwMutexMap[K comparable] struct {
	mu sync.RWMutex
	m  map[K]int
}

func (s *rwMutexMap[K]) Load(k K) (int, bool) {
	s.mu.RLock()
	v, ok := s.m[k]
	s.mu.RUnlock()
	return v, ok
}
func (s *rwMutexMap[K]) Store(k K, v int) {
	s.mu.Lock()
	s.m[k] = v
	s.mu.Unlock()
}
func (s *rwMutexMap[K]) Increment(k K) {
	s.mu.Lock()
	s.m[k]++
	s.mu.Unlock()
}
func (s *rwMutexMap[K]) Range(f func(K, int) bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for k, v := range s.m {
		if !f(k, v) {
			return
		}
	}
}
