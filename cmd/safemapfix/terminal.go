package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// isTerminal reports whether w is a terminal (a character device), as
// opposed to a pipe or a file.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// useColor decides whether the diff is coloured: --color=always or never
// decide, auto colours only a terminal, and only when NO_COLOR
// (https://no-color.org) is unset.
func useColor(mode string, stdout io.Writer) (bool, error) {
	switch mode {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		return os.Getenv("NO_COLOR") == "" && isTerminal(stdout), nil
	}
	return false, fmt.Errorf("--color must be auto, always or never, not %q", mode)
}

// progressDelay is how long a run goes before it shows progress: short
// runs, such as a pre-commit hook on a small module, print nothing.
const progressDelay = 2 * time.Second

// startProgress shows, on a terminal stderr only, that a long run is still
// working: after progressDelay, one line with the phase and the elapsed
// time, rewritten in place every second. It returns the function that
// tells it a new phase (safemapfix.Config.Progress) and the one that stops
// it and clears the line. Progress never goes to stdout, which carries the
// diff or the report.
func startProgress(stderr io.Writer) (phase func(string), stop func()) {
	if !isTerminal(stderr) {
		return func(string) {}, func() {}
	}
	start := time.Now()
	var current atomic.Value
	current.Store("loading")
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		timer := time.NewTimer(progressDelay)
		defer timer.Stop()
		shown := false
		for {
			select {
			case <-done:
				if shown {
					fmt.Fprint(stderr, "\r\x1b[K")
				}
				return
			case <-timer.C:
				shown = true
				fmt.Fprintf(stderr, "\r\x1b[Ksafemapfix: %s… %ds", phaseText[current.Load().(string)], int(time.Since(start).Seconds()))
				timer.Reset(time.Second)
			}
		}
	}()
	phase = func(p string) { current.Store(p) }
	return phase, func() {
		close(done)
		wg.Wait()
	}
}

// phaseText describes each phase of safemapfix.Run.
var phaseText = map[string]string{
	"loading":   "loading the packages",
	"detecting": "finding racy maps",
	"rewriting": "rewriting",
	"checking":  "type-checking the rewritten packages",
}
