package detect

import (
	"os"
	"strings"
	"testing"

	"github.com/safemapfix/safemapfix/load"
)

// BenchmarkFind measures each phase of detection over a module: the
// accuracy suite by default, or the module in DETECT_BENCH_DIR (packages
// DETECT_BENCH_PATTERN, default ./...). Loading is measured too, as the
// floor the detector is compared with.
//
//	go test ./detect -run '^$' -bench Find -benchmem
//	DETECT_BENCH_DIR=/path/to/module go test ./detect -run '^$' -bench Find -benchtime 1x
func BenchmarkFind(b *testing.B) {
	cfg, prog := loadBenchModule(b)
	b.Run("load", func(b *testing.B) {
		for b.Loop() {
			if _, err := load.Load(cfg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ssa", func(b *testing.B) {
		for b.Loop() {
			buildProgram(prog.Fset, prog.Packages)
		}
	})
	p := buildProgram(prog.Fset, prog.Packages)
	b.Run("callgraph", func(b *testing.B) {
		for b.Loop() {
			p.buildCallGraph()
		}
	})
	if p.graph == nil {
		p.buildCallGraph() // the callgraph benchmark did not run
	}
	b.Run("analysis", func(b *testing.B) {
		for b.Loop() {
			// The analysis prunes the call index (go statements that
			// only start modelled callbacks); each run starts afresh.
			b.StopTimer()
			p.indexCalls()
			b.StartTimer()
			a := newAnalysis(p)
			a.run()
		}
	})
	b.Run("find", func(b *testing.B) {
		for b.Loop() {
			if _, err := Find(prog.Fset, prog.Packages, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// loadBenchModule loads the module benchmarks run over: the accuracy
// suite, or the module in DETECT_BENCH_DIR (packages DETECT_BENCH_PATTERN,
// default ./...).
func loadBenchModule(b *testing.B) (load.Config, *load.Program) {
	dir := os.Getenv("DETECT_BENCH_DIR")
	pattern := os.Getenv("DETECT_BENCH_PATTERN")
	if pattern == "" {
		pattern = "./..."
	}
	var env []string
	if dir == "" {
		dir, env, _ = WriteSuite(b)
	}
	cfg := load.Config{Dir: dir, Patterns: strings.Fields(pattern), Tests: true, Env: env}
	prog, err := load.Load(cfg)
	if err != nil {
		b.Fatal(err)
	}
	return cfg, prog
}
