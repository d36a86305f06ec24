// Package bench measures safemap.Map against the other ways of sharing a
// map between goroutines: sync.Map, a map guarded by sync.Mutex or
// sync.RWMutex, and github.com/puzpuzpuz/xsync/v4's Map.
//
// It is a separate module so that the main module's go test ./... does not
// run it and does not depend on xsync. See README.md for the workloads, the
// command that reproduces the numbers, and the results.
package bench
