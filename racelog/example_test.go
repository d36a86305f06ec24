package racelog_test

import (
	"fmt"
	"strings"

	"github.com/safemapfix/safemapfix/racelog"
)

func ExampleParse() {
	out := `=== RUN   TestCache
==================
WARNING: DATA RACE
Write at 0x00c0000880f0 by goroutine 8:
  runtime.mapassign_faststr()
      /usr/local/go/src/internal/runtime/maps/runtime_faststr.go:263 +0x0
  example.com/app/cache.(*Cache).Put()
      /src/app/cache/cache.go:14 +0x44

Previous read at 0x00c0000880f0 by goroutine 9:
  runtime.mapaccess1_faststr()
      /usr/local/go/src/internal/runtime/maps/runtime_faststr.go:101 +0x0
  example.com/app/cache.(*Cache).Get()
      /src/app/cache/cache.go:20 +0x44
==================
--- FAIL: TestCache (0.00s)
    testing.go:1712: race detected during execution of test
`
	log, err := racelog.Parse(strings.NewReader(out))
	if err != nil {
		panic(err)
	}
	for _, r := range log.Reports {
		fmt.Println(r)
		for _, a := range r.Accesses {
			fmt.Println(a.Op, a.Stack[len(a.Stack)-1].Func)
		}
	}
	// Output:
	// data race: write at /src/app/cache/cache.go:14 (goroutine 8) vs read at /src/app/cache/cache.go:20 (goroutine 9)
	// assign example.com/app/cache.(*Cache).Put
	// lookup example.com/app/cache.(*Cache).Get
}
