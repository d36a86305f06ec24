package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/gotooltest"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary run as the safemapfix command inside the
// scripts of TestScripts.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"safemapfix": main})
}

// TestScripts runs the command-line scenarios of testdata/script: file
// arguments as a pre-commit hook passes them, exit statuses, colour,
// generated files, refused writes, broken code and build tags. Each script
// runs the real command in a fresh module, with the go command set up as
// on the host.
func TestScripts(t *testing.T) {
	p := testscript.Params{
		Dir: "../../testdata/script",
		Setup: func(e *testscript.Env) error {
			// Colour and progress must not depend on the terminal the
			// tests run in.
			e.Setenv("NO_COLOR", "")
			return nil
		},
	}
	if err := gotooltest.Setup(&p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.Dir); err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, p)
}
