// Package difftest checks the rewrite differentially: it generates
// single-goroutine Go programs that use maps in every way the rewrite
// handles, runs each before and after rewriting all its map objects into
// safe maps (safemapfix.Run with --only naming them), and requires the same
// output.
//
// A generated program is one module with one main package. It holds many
// cases, each a function with its own map objects (package variables,
// locals, fields reached by value, through a pointer, through an embedded
// struct, and fields of generic types) and a list of units, each a group of
// statements using one map in one way. Every unit runs in its own function
// literal that recovers and prints a panic, so a panic (a write to a nil
// map, a division by zero in m[k] /= x) is part of the output. The output
// never depends on map iteration order: keys are sorted before printing,
// and loops only count or collect. Operands with side effects print when
// they are evaluated, so a rewrite that changes the order of evaluation
// changes the output.
//
// One build before and one after check all the cases of a program, which
// keeps a run cheap. When the outputs differ (or the rewrite fails, or its
// result does not build), Shrink reduces the program to one case, then to
// as few units and map objects as still fail, and Report prints it.
//
// Constructs that the rewrite is known to get wrong are generated only
// with Options.Known; each has a minimal reproducer in TestReproducers.
// Reproducers of fixed bugs move to TestRegressions, which requires them
// to pass.
//
// The tests run one program of 100 cases (seed 1) by default. More:
//
//	go test ./internal/difftest -run TestDifferential -difftest.seed=7 -difftest.n=300
//	go test ./internal/difftest -run TestReproducers -v -difftest.known
//	go test ./internal/difftest -run '^$' -fuzz FuzzDifferential
package difftest
