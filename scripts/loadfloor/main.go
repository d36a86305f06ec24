// Loadfloor loads packages exactly as safemapfix does (go/packages with
// syntax and types, tests included) and does nothing else. Its time and
// memory are the floor that safemapfix's own run is measured against in
// scripts/bench-tool.sh: whatever safemapfix spends above it is detection,
// rewriting and checking.
//
// Usage:
//
//	loadfloor [-tags a,b] [packages]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/safemapfix/safemapfix/load"
)

func main() {
	tags := flag.String("tags", "", "comma-separated build tags")
	flag.Parse()
	cfg := load.Config{Patterns: flag.Args(), Tests: true}
	if *tags != "" {
		cfg.Tags = strings.Split(*tags, ",")
	}
	prog, err := load.Load(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadfloor:", err)
		os.Exit(1)
	}
	files := 0
	for _, p := range prog.Packages {
		files += len(p.Syntax)
	}
	fmt.Printf("loaded %d packages, %d files\n", len(prog.Packages), files)
}
