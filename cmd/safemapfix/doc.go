/*
Safemapfix finds maps that are accessed concurrently without
synchronisation and rewrites them into a concurrency-safe map type.

Usage:

	safemapfix [flags] [packages | files]

The default pattern is ./... . File arguments, as a pre-commit hook passes
them, select the packages that contain them: those packages and every
package of the module that imports them are analysed, and only findings
that concern a named file are reported and fixed.

Each racy map object (a package-level variable, a struct field, or a local
variable captured by several goroutines) is rewritten, with its declaration
and every use in every loaded package, into *safemap.Map[K, V]: m[k]
becomes m.Get(k), m[k] = v becomes m.Store(k, v), m[k]++ becomes one atomic
update, range m becomes range m.All(), and so on. Comments are kept. The
safe map package is placed in the module at internal/safemap (generated
code), so the rewritten module builds with no new dependency; pass
--wrapper-import to use another copy.

Modes:

	--dry-run, -d   print a unified diff of the rewrite (the default)
	--write, -w     rewrite the files in place
	--list, -l      print the findings and their evidence, change nothing

Output: --format=text|json|sarif (--json is short for --format=json), and
--color=auto|always|never for the diff. Race reports: --race-log FILE (- for
stdin; repeatable) fixes the maps the race detector or a crash dump names;
--no-static leaves static detection out; --verify[=build|race] checks the
module after --write and restores every written file if the check fails.
Choosing maps: --only and --exclude name map objects (pkgpath.Var,
pkgpath.Type.field, pkgpath.Func.local), --min-confidence=proven|assumed,
--keep-api leaves exported maps of importable packages alone, --generated
also rewrites generated files. Platforms: --tags loads the code with build
tags; --platform GOOS/GOARCH (repeatable) loads each platform named and
makes the rewrite consistent across them, so files of other platforms
(x_windows.go) are fixed too; without it, a warning names the excluded
files that mention a rewritten map. Profiling: --cpuprofile, --memprofile.
The flag list below has the details.

Exit status, as gofmt -d and go fix -diff have it:

	0  nothing to fix, or every fix was written
	1  findings or a non-empty diff (--dry-run, --list), or findings that
	   could not be fixed remain after --write
	2  an error: bad usage, code that does not load or type-check, a
	   refused write; no file is touched

Findings are printed as file:line:col: message, with the conflicting
accesses, the goroutines reaching them and the locks held, and say whether
the map was fixed or why not. A map that cannot be rewritten correctly as a
whole (for example because it is passed to a function that takes a map) is
left untouched, and the finding says which use stopped it. So is a map
that only test code races on (a test reading it without the lock the
rest of the code takes): the finding says which lock the test lacks.
*/
package main
