package bench

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/safemapfix/safemapfix/wrapper"
)

// rng is a per-goroutine xorshift generator: cheap, and without the shared
// state of math/rand that would dominate a nanosecond-scale benchmark.
type rng uint64

var seeds atomic.Uint64

func newRNG() rng { return rng(seeds.Add(0x9e3779b97f4a7c15) | 1) }

func (r *rng) next() uint64 {
	x := uint64(*r)
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	*r = rng(x)
	return x
}

// below returns a number in [0, n).
func (r *rng) below(n int) int { return int((r.next() >> 32) * uint64(n) >> 32) }

// cpuMeter reports, next to ns/op, the CPU time spent per operation by the
// whole process (every goroutine, the garbage collector included). On a
// machine shared with other work, wall-clock ns/op also counts time spent
// waiting for a CPU; cpu-ns/op does not, so it is the steadier figure for
// comparing maps.
type cpuMeter struct {
	start int64
	ok    bool
}

func startCPUMeter() cpuMeter {
	start, ok := processCPUTime()
	return cpuMeter{start, ok}
}

// report reports the CPU time per unit, for n units of work.
func (c cpuMeter) report(b *testing.B, n int, unit string) {
	end, ok := processCPUTime()
	if c.ok && ok && n > 0 {
		b.ReportMetric(float64(end-c.start)/float64(n), "cpu-ns/"+unit)
	}
}

func intKeys(n int) []int {
	keys := make([]int, n)
	for i := range keys {
		keys[i] = i * 7919 // spread, not consecutive
	}
	return keys
}

func stringKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%08d", i)
	}
	return keys
}

// BenchmarkMix runs a mix of lookups and overwrites of existing keys from
// every goroutine, for each read share, key type, key count and map.
func BenchmarkMix(b *testing.B) {
	for _, reads := range []int{100, 99, 90, 50, 0} {
		for _, size := range []int{1_000, 100_000} {
			name := fmt.Sprintf("reads=%d%%/keys=%s", reads, sizeName(size))
			b.Run(name+"/type=int", func(b *testing.B) { benchMix(b, intKeys(size), reads) })
			b.Run(name+"/type=string", func(b *testing.B) { benchMix(b, stringKeys(size), reads) })
		}
	}
}

func sizeName(n int) string {
	if n >= 1_000_000 && n%1_000_000 == 0 {
		return fmt.Sprintf("%dM", n/1_000_000)
	}
	return fmt.Sprintf("%dk", n/1000)
}

func benchMix[K comparable](b *testing.B, keys []K, readPercent int) {
	for _, impl := range implementations[K]() {
		b.Run("impl="+impl.name, func(b *testing.B) {
			m := impl.make()
			for i, k := range keys {
				m.Store(k, i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := startCPUMeter()
			b.RunParallel(func(pb *testing.PB) {
				r := newRNG()
				sink := 0
				for pb.Next() {
					x := r.next()
					k := keys[int((x>>32)*uint64(len(keys))>>32)]
					if int(x&0xffff)%100 < readPercent {
						v, _ := m.Load(k)
						sink += v
					} else {
						m.Store(k, int(x))
					}
				}
				_ = sink
			})
			cpu.report(b, b.N, "op")
		})
	}
}

// BenchmarkCounter increments one hot key from every goroutine, an int key
// and a string key.
func BenchmarkCounter(b *testing.B) {
	b.Run("type=int", func(b *testing.B) { benchCounter(b, 42) })
	b.Run("type=string", func(b *testing.B) { benchCounter(b, "hits") })
}

func benchCounter[K comparable](b *testing.B, key K) {
	for _, impl := range implementations[K]() {
		b.Run("impl="+impl.name, func(b *testing.B) {
			m := impl.make()
			b.ReportAllocs()
			b.ResetTimer()
			cpu := startCPUMeter()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m.Increment(key)
				}
			})
			cpu.report(b, b.N, "op")
		})
	}
}

// BenchmarkAll ranges over 100k entries; ns/entry is the cost per entry.
func BenchmarkAll(b *testing.B) {
	const size = 100_000
	for _, impl := range implementations[int]() {
		b.Run("impl="+impl.name, func(b *testing.B) {
			m := impl.make()
			for i, k := range intKeys(size) {
				m.Store(k, i)
			}
			b.ResetTimer()
			cpu := startCPUMeter()
			for range b.N {
				n := 0
				m.Range(func(k, v int) bool {
					n += v
					return true
				})
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/size, "ns/entry")
			cpu.report(b, b.N*size, "entry")
		})
	}
}

// BenchmarkMemory reports the heap held by a map of 1M int keys to int
// values, in bytes per entry.
func BenchmarkMemory(b *testing.B) {
	const size = 1_000_000
	keys := intKeys(size)
	for _, impl := range implementations[int]() {
		b.Run("impl="+impl.name, func(b *testing.B) {
			var total uint64
			for range b.N {
				before := heapInUse()
				m := impl.make()
				for i, k := range keys {
					m.Store(k, i)
				}
				total += heapInUse() - before
				runtime.KeepAlive(m)
			}
			b.ReportMetric(float64(total)/float64(b.N)/size, "bytes/entry")
		})
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkDirectReads reads 1k int keys calling safemap and a built-in map
// directly, without the interface the other benchmarks use, to show what
// that indirection costs.
func BenchmarkDirectReads(b *testing.B) {
	keys := intKeys(1000)
	b.Run("impl=safemap", func(b *testing.B) {
		m := safemap.New[int, int]()
		for i, k := range keys {
			m.Store(k, i)
		}
		b.RunParallel(func(pb *testing.PB) {
			r := newRNG()
			sink := 0
			for pb.Next() {
				sink += m.Get(keys[r.below(len(keys))])
			}
			_ = sink
		})
	})
	b.Run("impl=unsynchronised", func(b *testing.B) {
		m := map[int]int{}
		for i, k := range keys {
			m[k] = i
		}
		b.RunParallel(func(pb *testing.PB) {
			r := newRNG()
			sink := 0
			for pb.Next() {
				sink += m[keys[r.below(len(keys))]]
			}
			_ = sink
		})
	})
}
