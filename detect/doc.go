// Package detect decides which map objects are accessed concurrently without
// synchronisation, and says why.
//
// A map object is a package-level variable, a struct field, or a local
// variable shared by more than one goroutine. A finding names the object
// and carries its evidence: a conflicting pair of accesses, the goroutine
// root that reaches each, and the locks held at each.
//
// # Analysis
//
// Find builds SSA for the rewrite units (dependencies stay opaque) and a
// VTA call graph over them, then:
//
//   - Roots: main, the tests (one sequential root; each parallel test and
//     parallel subtest its own; the Test methods of a suite type, which a
//     helper such as grpc's grpctest.RunSubTests or testify's suite.Run
//     runs through reflection, are tests too), package initialisation, every go
//     statement, and the known concurrent callbacks: (*sync.WaitGroup).Go,
//     errgroup Go and TryGo, time.AfterFunc, context.AfterFunc,
//     runtime.SetFinalizer and AddCleanup, b.RunParallel, and net/http
//     handlers (HandleFunc, a type converted to http.Handler, a function
//     converted to http.HandlerFunc, a handler-shaped function passed to a
//     router). A type of a library package whose methods lock or start
//     goroutines is assumed to be used concurrently: its exported methods
//     (tests of a suite type aside) form one more root, and findings
//     resting on it are Assumed.
//     Functions nothing calls form a last, assumed, root.
//   - A helper that starts its function argument in a goroutine
//     (func (s *S) goFunc(f func()) { go func() { ...; f() }() }, or the
//     same through wg.Go or an errgroup's Go) is a start at each of its
//     call sites, running what that site passes. When the helper waits
//     for those goroutines on every path to a return (a parallel
//     for-each: go f(item) per item, then wg.Wait()), what follows the
//     call runs after them.
//   - A root runs more than once at a time when it is started in a loop,
//     per request, by a root that itself runs more than once, by a
//     function called repeatedly that does not wait for it, or by a
//     helper that starts its argument in a loop or in two go statements.
//   - A call through a function value received as a parameter or
//     captured from one is resolved per calling context: the value is
//     traced back through parameters, captures and local variables to
//     the closures callers pass, and a root runs such a closure only when
//     it also runs the function that made it (or, for a value handed to a
//     goroutine, descends from a root that does). A method call through
//     an interface value received so (d.decode(buf), d a parameter) is
//     resolved the same way, to the methods of the types converted to
//     the interface where the value is made, each run only by the roots
//     that run the converting function. A value that comes from a field,
//     a global or a result anywhere on the way leaves the call to the
//     call graph. When code outside the analysis may call the function
//     too (an exported method of a library type: db.Update(fn) calling
//     fn), the function literals its analysed callers pass that never
//     leave the calls they are handed to are still resolved so; any
//     other callee the call graph gives may come from outside.
//   - A call that a function makes only for one value of a boolean
//     parameter (if !fetch { return }) is reached only by the roots
//     calling the function with that value, or with a value not
//     constant. Main and the methods of library types never run code of
//     _test.go files, whatever an interface call may dispatch to; nor do
//     the goroutines a main package without tests starts, since it runs
//     only as its own program.
//   - Function values handed to a function outside the analysis (an
//     instance of a dependency's generic function, such as
//     slices.IndexFunc, included) run at the call, on the caller's
//     goroutine; so do the methods of a value it is handed as a non-empty
//     interface (fmt.Fprint calls its writer's Write, sort.Sort its Less),
//     and the String, Error, GoString and Format methods of the operands
//     of fmt's, log's and testing's print functions, unless that value
//     was made by the calling function, whose own writer would otherwise
//     look shared. A function value handed to an analysed function
//     through another unit's copy without a body (a package with tests of
//     its own, whose test variant is the unit, seen by its importers
//     without its tests) runs at the call too: the call graph follows no
//     value into such a copy.
//   - Accesses: index, comma-ok, range, len, delete, clear, stores and a
//     map passed to code outside the analysis, traced to the object
//     through loads, closures, parameters, results, phis and aliases.
//   - Locks: the sync.Mutex and sync.RWMutex held at each access, with
//     defer, early returns, the branch where TryLock or TryRLock
//     succeeded, lock and unlock helpers, and the locks every
//     caller holds; when those leave a pair unexcluded, the locks held by
//     the callers in each access's own root. Locks are named by field or
//     variable, not instance; a mutex parameter is named by the mutex
//     every call passes for it. A method whose name (addLocked,
//     matchNoLock) or doc comment ("Lock should be held.") says its
//     callers hold its receiver's lock is taken to hold it, unless a
//     caller outside the tests holds none of the receiver's mutexes at
//     the call. A function called back through a parameter holds the
//     locks held where its caller handed it over. A function that locks
//     only when a boolean parameter says so is analysed once per
//     constant its callers pass. A channel of capacity 1 that is only
//     sent on to enter and received from to leave (sem <- struct{}{};
//     defer func() { <-sem }()) is a lock too, when every channel kept
//     under its name is made so, nothing else is done with it, and every
//     receive follows a send in its function or runs in a closure that is
//     only deferred (a token channel, filled once and entered by a
//     receive, is not taken for one).
//     The function run by once.Do is ordered before every access that
//     follows a once.Do on the same Once. When a pair still holds no
//     common lock, the struct pointer of each access is followed up the
//     plain calls that hand it down, in its root, to the field it was
//     loaded from (its owner) or to where it was made: two chains whose
//     owner fields only ever receive fresh structs, and differ, reach
//     different structs, and a chain that made its struct and shared it
//     with no one reaches a struct no other goroutine sees (the chains
//     pass through instantiation wrappers of generic methods). Chains in
//     two different roots that each reach a struct their own root made
//     (new, or held in a field that only receives fresh structs of a
//     struct that root made: a node a parallel test made and the manager
//     its constructor made for it) reach two structs, and two maps when
//     the map's field only ever holds maps made for its struct. Every
//     other pair of chains needs a common lock (a scheduler kept by a
//     file store under the file store's lock and another kept by a
//     memory store under its own).
//   - Happens-before: a go statement orders what precedes it; Wait on a
//     WaitGroup or errgroup.Group joins the goroutines started before it;
//     a Wait on a WaitGroup named by field or variable also joins the
//     goroutines, started anywhere, that call Done on it as they end, and
//     a call of a function that waits so on every path joins them for
//     its caller (Start adds and starts, Stop waits);
//     a channel receive joins goroutines that send on or close a channel
//     of the same element type; a goroutine that runs once and closes a
//     channel (named by field or variable, made with make, never sent on
//     or handed on) after an access orders that access before whatever
//     follows a receive from the channel on every path, or the case of
//     a select that received from it (load fills a map, then
//     close(l.ready); Get receives, then reads); an atomic.Bool that is
//     only ever set to true orders the same way what follows its Load
//     reading true. A map a function returns only where the
//     goroutine it started to fill it has been joined (the early return
//     of an error path hands out nil) is used by the caller after that
//     goroutine.
//   - Instances: a local map races only with goroutines that received it
//     when started (argument or capture), and with those that run a
//     closure capturing it that escapes its maker's calls (a hook kept in
//     a field or variable, a closure returned); a struct parameter passed by
//     value holds the maps of the caller's struct; a map field of a struct
//     allocated per call and passed only down the call chain (never
//     stored, captured, sent or converted to an interface that is), directly or
//     by a constructor, is private to that call, also when the variable
//     holding it starts nil and the struct is made lazily; such a struct made in a
//     function, or by a constructor it calls, and handed down to the
//     access through parameters, stays private at an access until a use
//     that publishes it (store, capture, send, interface conversion, a
//     call that may retain it, a copy of the map out of it) can run
//     before the access on some path of the control flow graph. A
//     receiver or local captured by a closure that the function only
//     calls is followed through the variable the closure shares; so is
//     a struct variable such a closure captures (l := link{...}; set :=
//     func(k, v string) { l.params[k] = v }), judged at each call. The
//     body of a range-over-func loop counts as called by the range
//     statement: the language forbids the iterator to call it once that
//     statement is done, so it runs on the loop's goroutine. So is a
//     closure kept in a local function variable that is only called
//     (var visit func(string); visit = func(n string) { ...; visit(m)
//     }), judged at the calls through the variable. A constructor may
//     return its struct as an interface whose methods the caller calls
//     (m := newMatcher(); m.add(s)): a method's receiver is followed
//     to the calls through interfaces as to the calls naming it, and the
//     struct stays private while the interface is only called, compared,
//     converted, asserted back or returned. A callback compared with nil
//     or handed back to the function's own recursive call is still only
//     called. A
//     pointer to a field that cannot lead to a map (&o.Debug handed to
//     the flag package) publishes nothing, nor does printing a struct
//     with fmt's print functions, which keep none of their operands, nor
//     decoding into it or encoding it with encoding/json, xml or gob (l :=
//     &lock{}; json.Unmarshal(data, l)), unless a type it reaches has
//     methods they call (UnmarshalJSON, MarshalText, ...) or is an
//     interface. When some callers hand the
//     access a private struct and others one that may be shared, the
//     access counts only in the roots that run a function where sharing
//     may start. An access through a map parameter belongs to an object
//     only in the roots whose calls pass that object in. A closure's
//     parameter is followed to the closure's callers when the closure
//     value is only called or handed to analysed functions that do the
//     same (rangeEval(..., func(v Vector, enh *Helper) {...}) called back
//     with a helper rangeEval made); so is a named function's, when
//     every use of it as a value is such (apply(mark, h)). Two instances
//     of a goroutine started in a loop, or by a function that runs more
//     than once, do not race on a map field of the struct each is handed
//     at the start, made for that start (an argument of the go statement
//     or of a helper that starts its argument, a variable declared in the
//     loop body that the goroutine's closure captures, the receiver of a
//     method value: n := &Node{}; n.goFunc(n.run)), followed down any
//     number of plain calls and into closures their makers only call or
//     defer, and from a struct to one its field holds when that field
//     only ever receives structs made fresh for it, each time it is
//     stored; that holds when the map's field only ever receives maps
//     made for its struct (made there, or made and filled first in the
//     same run of the storing function). A struct loaded from such a
//     field of a struct private at the access is private too, when no
//     load of the field anywhere hands what it holds on (returned,
//     stored, captured, sent, kept by a callee): a constructor that fills
//     the queue its lessor holds and only then starts the lessor's loop.
//     The trace also follows a struct
//     value a constructor builds and the caller copies (n := newNode(e);
//     go n.run()), a field set from a parameter every caller passes a
//     fresh struct for, one result of a constructor with several, calls
//     through a step function or a method value kept in a field (e.step =
//     stepLeader; e.tick = e.tickElection), a variable set on either
//     branch, a map handed down as an argument, and a receiver kept in a
//     variable that a deferred closure captures; a call cycle counts
//     for what enters it. Goroutines that different functions start, each
//     on the struct made for it, do not share it either. A struct made in
//     a function and kept in a variable a closure captures is private
//     until the capture, or a use that publishes it, can run first;
//     goroutines that earlier calls of the function started cannot hold
//     it. A struct the function allocates itself stops being its own once
//     it may have been stored where others reach it (a global, a field of
//     a struct it did not make) or sent (s := &T{}; global = s; s.m[k] =
//     v races with a reader of global). The same holds for a
//     struct or a map that a closure captures when the closure is handed
//     to analysed functions that only call it (ReadTable(b, func(name
//     string) { r.names[name]++ })), whoever else calls them: it runs
//     within the call. A map made by a call is that call's alone until a
//     use hands it on (a store outside the function's variables, a call,
//     a send, a return, a capture by a closure that leaves the function's
//     calls): accesses before that, directly or through such a closure,
//     race with nothing.
//   - Deep copies: the elements of a slice a function makes and fills in
//     place are the activation's, as a struct it allocates is (out :=
//     make([]T, n); out[i].m = make(map...); out[i].m[k] = v), through any
//     depth of slices kept in fields of such elements, while the slice
//     reaches nothing but element and field addresses read or written in
//     place, len and cap, and a return or a field of a struct the
//     activation owns or only returns; every value stored into such a
//     field, or into an element whole, must be another such slice, nil,
//     or a composite literal that sets no map or slice from elsewhere. A
//     struct published only by the function's return (val := &Result{};
//     ...; return &Cmd{val: val}, also as an interface) is the
//     activation's until then. Either way the struct protects its map
//     only when the map is its own too: a struct, or an element, that
//     the function gives a map loaded from a package variable or from a
//     struct it does not own, or whose map it hands to a goroutine, a
//     channel, a closure, an interface or memory before the access, does
//     not make the access private (e := &entry{}; e.attrs = defaults;
//     e.attrs[k]++ races on defaults). Nor does a struct copied from a
//     parameter (func worker(c Counter)) or from the value receiver of a
//     method that a goroutine starts with (go c.Hit(k)): the copy holds
//     the maps of the struct it copies.
//   - Handover: a struct pointer sent on a channel and not used again by
//     the sender, nor anything reached through it (no use after the send,
//     no second send, no map loaded from it kept or passed on), belongs
//     to the receiver: a channel delivers each value once. When every
//     send in the analysed code on channels of that element type hands
//     over a struct the sender made (new, a constructor) or itself
//     received so, the struct a receive yields is private to the
//     receiving activation until it escapes or is sent on, and the
//     sender's accesses before the send are private to the sender: a
//     worker pool whose jobs each carry their own map, a pipeline whose
//     stages pass an item on, a select sending or receiving such a value.
//     The struct's map fields must only ever hold maps made for their
//     struct: jobs that all hold one counts map share it.
//   - Function values received with v, ok := <-ch (for f := range tasks {
//     f() }), which VTA follows no further than the receive, call the
//     functions, or the methods of the values, sent on channels of the
//     same element type. A closure sent on a channel carries the local
//     maps it captures to the goroutines that run it, except a variable
//     made anew for each closure that its maker uses only before the
//     send, when the closure is only sent, once.
//
// A map is racy when a write and another access can run in concurrent
// roots with no common lock held in write mode. A write whose only
// protection is RLock is reported as WriteUnderRLock. Accesses run only by
// package initialisation never race. A finding on an object declared
// outside test files whose race goes away without the accesses in _test.go
// files is marked TestOnly: the code is synchronised and the tests are
// not (a test reading a server's map without the server's lock).
//
// # Limits
//
// The analysis is static and deliberately favours precision: a map handed
// over through a channel is followed no further; a receive joins every
// goroutine signalling on a channel of its element type; locks are matched
// by field, so two instances of a type are taken to share their mutex;
// the field of every published instance is one object; maps reached
// through slices, arrays, maps of maps, pointers to maps, interfaces
// (any, atomic.Value, context values) are not traced, nor local maps
// captured by a closure kept in a field of a struct (a setter, a
// functional option) and called from another goroutine. A race report
// (--race-log) is the stronger source and is handled elsewhere.
package detect
