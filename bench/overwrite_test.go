package bench

import (
	"sync"
	"testing"

	"github.com/puzpuzpuz/xsync/v4"
	"github.com/safemapfix/safemapfix/wrapper"
)

// record is a value of several machine words, some of them pointers, which
// safemap cannot keep in one atomic word.
type record struct {
	name  string
	count int
}

// BenchmarkOverwriteRecord overwrites existing keys (1k int keys) with
// record values from every goroutine: the write path for values that are
// not a single pointer-free word. It calls each map directly.
func BenchmarkOverwriteRecord(b *testing.B) {
	keys := intKeys(1000)
	names := []string{"alpha", "beta", "gamma", "delta"}
	run := func(b *testing.B, store func(k int, v record)) {
		for i, k := range keys {
			store(k, record{names[i%4], i})
		}
		b.ReportAllocs()
		b.ResetTimer()
		cpu := startCPUMeter()
		b.RunParallel(func(pb *testing.PB) {
			r := newRNG()
			for pb.Next() {
				x := r.next()
				store(keys[int((x>>32)*uint64(len(keys))>>32)], record{names[x&3], int(x)})
			}
		})
		cpu.report(b, b.N, "op")
	}
	b.Run("impl=safemap", func(b *testing.B) {
		m := safemap.New[int, record]()
		run(b, m.Store)
	})
	b.Run("impl=xsync", func(b *testing.B) {
		m := xsync.NewMap[int, record]()
		run(b, m.Store)
	})
	b.Run("impl=mutex", func(b *testing.B) {
		var mu sync.Mutex
		m := map[int]record{}
		run(b, func(k int, v record) {
			mu.Lock()
			m[k] = v
			mu.Unlock()
		})
	})
}
