// Package racelog reads what the Go runtime prints about map races and
// turns it into findings on map objects.
//
// Two kinds of output are understood. The race detector's reports, as
// printed by go test -race, go run -race, a -race binary, or written to
// race.<pid> files with GORACE=log_path=...:
//
//	==================
//	WARNING: DATA RACE
//	Write at 0x00c0000880f0 by goroutine 8:
//	  runtime.mapassign_faststr()
//	      /usr/local/go/src/internal/runtime/maps/runtime_faststr.go:263 +0x0
//	  main.main.func1()
//	      /work/app/main.go:16 +0x44
//	...
//
// And the runtime's crash when it catches a map misuse without the race
// detector: "fatal error: concurrent map writes" (or "concurrent map read
// and map write", "concurrent map iteration and map write", "concurrent
// map clone and map write") followed by a goroutine dump.
//
// [Parse] reads either kind from any text (interleaved test output is
// skipped; go test -json events are decoded) into a [Log]; [ReadFiles]
// does so for the files given to --race-log. For each access it records the stack and which
// map operation the runtime was performing, if any: a race on the map's
// contents shows a runtime map function on top of the stack
// (runtime.mapassign_faststr, runtime.mapIterStart, ...), while a race on
// the variable that holds the map (m = make(...) against m["a"]) or on an
// element written directly by compiled code shows user code on top.
//
// [Locate] maps each access back to the map expression in loaded syntax
// and to its object (package variable, struct field or local variable)
// and returns one [detect.Finding] per object, citing every report about
// it. File names are matched by path suffix and the frame's package, so
// absolute, -trimpath and GORACE=strip_path_prefix names all work. The
// map expression is chosen among those of the reported line by the
// operation (in a[k] = b[k], a write is a and a read is b); local aliases
// (c := s.cache) and map parameters (followed to the caller's argument
// through the stack) are traced back to the variable or field. Reports it
// cannot turn into a finding are returned as [Unhandled] with their
// [Cause], never dropped: races on non-map data, races on the variable
// that holds a map (which a safe map does not fix), maps that have no
// name or that several expressions of the line fit, and code outside the
// loaded packages.
package racelog

import (
	"fmt"
	"strings"
)

// Log is everything Parse found in its input, in input order.
type Log struct {
	Reports []*Report
}

// MapReports returns the reports in which the runtime was inside its map
// implementation for at least one access: races on map contents and map
// crashes. Races on the variable holding a map, and races on map elements
// written directly by compiled code, need the syntax to be recognised;
// see Locate.
func (l *Log) MapReports() []*Report {
	var out []*Report
	for _, r := range l.Reports {
		if r.InMapRuntime() {
			out = append(out, r)
		}
	}
	return out
}

// ReportKind says what printed a report.
type ReportKind int

const (
	// DataRace is a "WARNING: DATA RACE" block of the race detector.
	DataRace ReportKind = iota
	// MapCrash is a "fatal error: concurrent map ..." crash of the runtime.
	MapCrash
)

func (k ReportKind) String() string {
	if k == MapCrash {
		return "map crash"
	}
	return "data race"
}

// Report is one race report or one map crash.
type Report struct {
	Kind ReportKind
	// Source names the input the report was read from (set by ReadFiles;
	// "-" for standard input), or is empty.
	Source string
	// Line is the 1-based line of the input where the report starts; of
	// the output carried by the events, for go test -json input.
	Line int
	// Message is the runtime's message for a crash, such as
	// "concurrent map writes"; "DATA RACE" for a race report.
	Message string
	// Accesses are the accesses involved. For a DataRace: the current
	// access, then the previous one. For a MapCrash: the goroutine that
	// crashed, then any other goroutine of the dump that was inside the
	// map implementation at the time (printed only with GOTRACEBACK=all
	// or higher).
	Accesses []*Access
}

// InMapRuntime reports whether any access of r was inside the runtime's
// map implementation, or r is a map crash.
func (r *Report) InMapRuntime() bool {
	if r.Kind == MapCrash {
		return true
	}
	for _, a := range r.Accesses {
		if a.Op != Direct {
			return true
		}
	}
	return false
}

// Where locates r in its log: "race.1234:5", or "line 5" when the log
// has no name.
func (r *Report) Where() string {
	if r.Source != "" {
		return fmt.Sprintf("%s:%d", r.Source, r.Line)
	}
	return fmt.Sprintf("line %d", r.Line)
}

// String summarises r on one line, citing each access's first user frame.
func (r *Report) String() string {
	var parts []string
	for _, a := range r.Accesses {
		parts = append(parts, a.String())
	}
	if r.Kind == MapCrash {
		return fmt.Sprintf("%s: %s", r.Message, strings.Join(parts, " vs "))
	}
	return "data race: " + strings.Join(parts, " vs ")
}

// Access is one side of a report: a goroutine touching memory.
type Access struct {
	// Write is true for a write ("Write at", "Previous write at", the
	// writer of a map crash).
	Write bool
	// Previous is true for the earlier access of a race report.
	Previous bool
	// Goroutine is the goroutine's number; the race detector's "main
	// goroutine" is 1. Zero when not printed.
	Goroutine int
	// Op is the map operation the runtime was performing, or Direct.
	Op MapOp
	// Stack is the access's call stack, innermost frame first.
	Stack []Frame
	// Created is where the goroutine was started, innermost frame first;
	// empty for the main goroutine or when not printed.
	Created []Frame
	// CreatedBy is the goroutine that started this one, when printed
	// (crash dumps say "created by F in goroutine N").
	CreatedBy int
}

// Site returns the first frame of the stack that is not in the Go
// distribution (runtime, standard library, generated test main): the code
// that performed the access, as far as the log alone can tell. The bool is
// false when every frame is in the distribution. Locate refines this with
// the files actually loaded.
func (a *Access) Site() (Frame, bool) {
	for _, f := range a.Stack {
		if !f.InGoDistribution() {
			return f, true
		}
	}
	return Frame{}, false
}

// String describes the access as "write at file:line (goroutine 8)".
func (a *Access) String() string {
	verb := "read"
	if a.Write {
		verb = "write"
	}
	where := "unknown place"
	if f, ok := a.Site(); ok {
		where = fmt.Sprintf("%s:%d", f.File, f.Line)
	}
	g := ""
	switch {
	case a.Goroutine == 1:
		g = " (main goroutine)"
	case a.Goroutine > 0:
		g = fmt.Sprintf(" (goroutine %d)", a.Goroutine)
	}
	return fmt.Sprintf("%s at %s%s", verb, where, g)
}

// MapOp is the map operation the runtime was performing during an access.
type MapOp int

const (
	// Direct: no map function of the runtime is on the stack; compiled
	// code touched the memory itself. That is a race on the variable that
	// holds a map, on a map element written or read through the pointer
	// the runtime returned, on a map's length (len(m) reads the map header
	// inline), or on something that is not a map at all.
	Direct MapOp = iota
	// Lookup is runtime.mapaccess1*/mapaccess2*: m[k], v, ok := m[k].
	Lookup
	// Assign is runtime.mapassign*: m[k] = v, m[k] op= v, m[k]++.
	Assign
	// Delete is runtime.mapdelete*: delete(m, k).
	Delete
	// Clear is runtime.mapclear: clear(m), and the
	// for k := range m { delete(m, k) } idiom.
	Clear
	// Iterate is a map iterator (mapIterStart/mapIterNext, or
	// mapiterinit/mapiternext before Go 1.24): range over the map,
	// including ranges done by library code such as fmt.
	Iterate
	// Clone is runtime.mapclone / maps.Clone.
	Clone
	// Write is a write whose exact operation is not known: the writer in
	// a "concurrent map writes" crash (an assignment, delete or clear).
	Write
	// Read is a read whose exact operation is not known: the reader in a
	// "concurrent map read and map write" crash (a lookup or len).
	Read
)

var opNames = [...]string{
	Direct:  "direct",
	Lookup:  "lookup",
	Assign:  "assign",
	Delete:  "delete",
	Clear:   "clear",
	Iterate: "iterate",
	Clone:   "clone",
	Write:   "write",
	Read:    "read",
}

func (op MapOp) String() string {
	if int(op) < len(opNames) {
		return opNames[op]
	}
	return fmt.Sprintf("MapOp(%d)", int(op))
}

// Frame is one frame of a stack.
type Frame struct {
	// Func is the function's full name as the runtime prints it, without
	// arguments: "example.com/p.(*T).M", "main.main.func1".
	Func string
	// File is the file as printed: absolute, -trimpath'd
	// ("example.com/p/x.go"), or with a prefix stripped by
	// GORACE=strip_path_prefix.
	File string
	Line int
	// Inlined is true for a frame of a call that the compiler inlined;
	// crash dumps print it with "(...)" and no PC offset.
	Inlined bool
}

// Package returns the import path of the frame's function: "main",
// "example.com/p", "internal/runtime/maps".
func (f Frame) Package() string {
	return funcPackage(f.Func)
}

func (f Frame) String() string {
	return fmt.Sprintf("%s (%s:%d)", f.Func, f.File, f.Line)
}
