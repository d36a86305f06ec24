package racelog

import (
	"path"
	"strings"
)

// stdRoots are the first elements of every import path in the Go 1.26
// standard library. A dotless import path starting with one of them is
// part of the distribution; any other dotless path ("main", a module named
// "app") is user code.
var stdRoots = map[string]bool{
	"archive": true, "bufio": true, "builtin": true, "bytes": true, "cmp": true,
	"compress": true, "container": true, "context": true, "crypto": true,
	"database": true, "debug": true, "embed": true, "encoding": true,
	"errors": true, "expvar": true, "flag": true, "fmt": true, "go": true,
	"hash": true, "html": true, "image": true, "index": true, "internal": true,
	"io": true, "iter": true, "log": true, "maps": true, "math": true,
	"mime": true, "net": true, "os": true, "path": true, "plugin": true,
	"reflect": true, "regexp": true, "runtime": true, "slices": true,
	"sort": true, "strconv": true, "strings": true, "structs": true,
	"sync": true, "syscall": true, "testing": true, "text": true, "time": true,
	"unicode": true, "unique": true, "unsafe": true, "weak": true,
	"vendor": true,
}

// InGoDistribution reports whether the frame belongs to the runtime, the
// standard library, or the main function that go test generates.
func (f Frame) InGoDistribution() bool {
	if path.Base(f.File) == "_testmain.go" {
		return true
	}
	pkg := f.Package()
	first, _, _ := strings.Cut(pkg, "/")
	return !strings.Contains(first, ".") && stdRoots[first]
}

// funcPackage returns the import path in a function name as the runtime
// prints it. Dots in the last path element are escaped as %2e by the
// linker ("gopkg.in/yaml%2ev3.Unmarshal"), so the first dot after the last
// slash ends the path.
func funcPackage(fn string) string {
	slash := strings.LastIndex(fn, "/")
	dot := strings.Index(fn[slash+1:], ".")
	if dot < 0 {
		return strings.ReplaceAll(fn, "%2e", ".")
	}
	return strings.ReplaceAll(fn[:slash+1+dot], "%2e", ".")
}

// runtimeMapOp classifies the innermost frames of a stack that belong to
// the Go distribution: the map operation found there, or Direct when none
// of them is a map function. Only the frames above the first user frame
// count, so a map operation done by a callee of user code (fmt printing a
// map, maps.Clone) is attributed to that user call.
func runtimeMapOp(stack []Frame) MapOp {
	for _, f := range stack {
		if !f.InGoDistribution() {
			break
		}
		if op := frameMapOp(f.Func); op != Direct {
			return op
		}
	}
	return Direct
}

// frameMapOp classifies one runtime function. The names are those of
// Go 1.24 and later (Swiss-table maps in internal/runtime/maps) and of
// earlier releases (runtime.mapiterinit, runtime.mapiternext).
func frameMapOp(fn string) MapOp {
	name, ok := strings.CutPrefix(fn, "runtime.")
	if !ok {
		// The map functions that the runtime provides to reflect
		// (reflect.mapaccess, reflect.maplen, ...), used by fmt,
		// encoding/json and any reflection.
		name, ok = strings.CutPrefix(fn, "reflect.")
		if ok && name == "maplen" {
			return Read
		}
	}
	if ok {
		switch {
		case strings.HasPrefix(name, "mapaccess"):
			return Lookup
		case strings.HasPrefix(name, "mapassign"):
			return Assign
		case strings.HasPrefix(name, "mapdelete"):
			return Delete
		case name == "mapclear":
			return Clear
		case strings.HasPrefix(name, "mapIter"), strings.HasPrefix(name, "mapiter"),
			name == "mapinitnoescape":
			return Iterate
		case name == "mapclone", name == "mapclone2":
			return Clone
		}
		return Direct
	}
	if rest, ok := strings.CutPrefix(fn, "internal/runtime/maps."); ok {
		// Method names of the Swiss-table implementation.
		switch {
		case containsAny(rest, "PutSlot", "grow", "rehash", "split", "Assign", "Put"):
			return Assign
		case containsAny(rest, "Delete", "delete"):
			return Delete
		case containsAny(rest, "Clear", "clear"):
			return Clear
		case containsAny(rest, "Iter"):
			return Iterate
		case containsAny(rest, "Clone", "clone"):
			return Clone
		case containsAny(rest, "Get", "get", "Lookup", "lookup", "Access", "access"):
			return Lookup
		}
		return Direct
	}
	if strings.HasPrefix(fn, "maps.clone") || strings.HasPrefix(fn, "maps.Clone") {
		return Clone
	}
	return Direct
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// crashMapOp returns the operation of the goroutine that crashed, from the
// runtime's message.
func crashMapOp(message string) (op MapOp, write bool) {
	switch {
	case strings.Contains(message, "map writes"):
		return Write, true
	case strings.Contains(message, "map read"):
		return Read, false
	case strings.Contains(message, "iteration"):
		return Iterate, false
	case strings.Contains(message, "clone"):
		return Clone, false
	}
	return Direct, false
}
