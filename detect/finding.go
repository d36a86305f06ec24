package detect

import (
	"go/token"
	"go/types"
)

// Kind is the kind of problem found on a map object.
type Kind int

const (
	// Race: two accesses, at least one a write, can run in different
	// goroutines with no common lock held.
	Race Kind = iota
	// WriteUnderRLock: a write happens while only the read side of a
	// sync.RWMutex is held, so concurrent readers race with it.
	WriteUnderRLock
)

func (k Kind) String() string {
	switch k {
	case Race:
		return "race"
	case WriteUnderRLock:
		return "write-under-rlock"
	}
	return "unknown"
}

// Confidence says how firmly a finding rests on the code.
type Confidence int

const (
	// Assumed: the race depends on an assumption about how the code is
	// used, such as the exported methods of a library type that locks or
	// starts goroutines being called concurrently.
	Assumed Confidence = iota
	// Proven: a concrete pair of accesses from concrete goroutine roots,
	// or a race report, or the user's explicit choice.
	Proven
)

func (c Confidence) String() string {
	if c == Proven {
		return "proven"
	}
	return "assumed"
}

// Access is one access to a map object, as evidence.
type Access struct {
	Pos   token.Position
	Write bool
	// Op is the operation: "read", "comma-ok read", "store", "update",
	// "delete", "clear", "len", "range", "passed on".
	Op string
	// Root describes the goroutine root that reaches the access, such as
	// "go statement at server.go:40:2" or "http handler (*Server).ServeHTTP".
	Root string
	// Path is a short call path from the root to the function holding the
	// access, outermost first.
	Path []string
	// Locks are the locks held at the access, such as "s.mu (Lock)".
	Locks []string
}

// Finding is a map object that must be made safe.
type Finding struct {
	// Object is the map object: a *types.Var for a package-level variable,
	// a struct field or a local variable.
	Object types.Object
	// ID is load.ObjectID of Object: its declaring position. It identifies
	// the object across test variants of its package.
	ID string
	// Name is the object's user-facing name: "pkgpath.Var",
	// "pkgpath.Type.field", or "pkgpath.Func.local".
	Name string
	// Decl is the position of the object's declaration.
	Decl       token.Position
	Kind       Kind
	Confidence Confidence
	// Reason is one line saying why the object was chosen.
	Reason string
	// Pair is one conflicting pair of accesses; it may be empty for
	// findings chosen by the user (--only).
	Pair []Access
	// Assumptions lists the assumptions the finding rests on.
	Assumptions []string
	// Source is where the finding comes from: "static", "race-log", "only".
	Source string
	// BelowMin is set by Find when Confidence is below
	// Options.MinConfidence: the finding is a suggestion, not acted on.
	BelowMin bool
	// TestOnly: the object is declared outside test files and only
	// accesses in _test.go files race. Without them every access is
	// synchronised, so the code is right and the tests are not: they
	// touch the map without the lock the code takes, or while the
	// goroutines they started still use it. Pair holds one such access.
	TestOnly bool
}
