// Package rewrite turns chosen map objects into safe maps: their
// declarations and every use, in every loaded package.
//
// It works in two steps. Planning (plan.go) reads go/ast and go/types: it
// finds every use of each chosen object, follows the objects the map flows
// into (x := s.m, s.m = other.m), and decides the replacement of each use,
// or why a use cannot be rewritten. Planning is all or nothing per group of
// objects linked by assignment: when one use cannot be rewritten correctly,
// no use of any object in the group is touched, and the refusal says why.
// Applying (apply.go) edits the syntax with github.com/dave/dst, so that
// comments stay attached to the code they describe, and prints the changed
// declarations with gofmt formatting. Only the top-level declarations that
// hold an edit, and the imports, are decorated and printed (partial.go);
// the rest of a changed file, and every file without edits, keeps its
// bytes.
//
// For example, with hits chosen,
//
//	var hits = map[string]int{}
//
//	func record(name string) {
//		go func() { hits[name]++ }()
//		if n, ok := hits[name]; ok { fmt.Println(n) }
//	}
//
// becomes
//
//	var hits = safemap.New[string, int]()
//
//	func record(name string) {
//		go func() { safemap.Add(hits, name, 1) }()
//		if n, ok := hits.Load(name); ok { fmt.Println(n) }
//	}
//
// Read-modify-write operations (m[k] op= x, m[k]++, m[k] = append(m[k], x))
// become one atomic call on the safe map. Their operands are evaluated
// before the call, into temporaries where needed, so that no callback runs
// code that could touch the same map while its lock is held.
package rewrite
