package verify

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

var racyModule = map[string]string{
	"go.mod": "module example.com/r\n\ngo 1.25\n",
	"counter/counter.go": `package counter

var hits = map[string]int{}

func Add(k string) { hits[k]++ }

func Get(k string) int { return hits[k] }
`,
	"counter/counter_test.go": `package counter

import (
	"sync"
	"testing"
)

func TestConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	wg.Go(func() { Add("a") })
	wg.Go(func() { Add("b") })
	wg.Wait()
}

func TestGet(t *testing.T) {
	Add("x")
	if Get("x") < 1 {
		t.Fatal("lost an update")
	}
}
`,
}

// guarded returns counter.go with its map behind a mutex; broken makes
// Get lose its value, a regression the tests catch.
func guarded(broken bool) string {
	get := "return hits[k]"
	if broken {
		get = "return 0"
	}
	return `package counter

import "sync"

var (
	mu   sync.Mutex
	hits = map[string]int{}
)

func Add(k string) {
	mu.Lock()
	defer mu.Unlock()
	hits[k]++
}

func Get(k string) int {
	mu.Lock()
	defer mu.Unlock()
	` + get + `
}
`
}

// TestCheckRace runs the race level on a module whose map race is fixed,
// then on a fix that breaks a test: the first is kept and shows the race
// gone, the second is undone.
func TestCheckRace(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test -race three times")
	}
	dir := writeModule(t, racyModule)
	cmd := exec.Command("go", "test", "-race", "-count=1", "./...")
	cmd.Dir = dir
	before, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(before), "WARNING: DATA RACE") {
		t.Fatalf("the racy module did not race: %v\n%s", err, before)
	}

	t.Run("fixed", func(t *testing.T) {
		written := write(t, dir, map[string]string{"counter/counter.go": guarded(false)})
		after := tree(t, dir)
		rep, err := CheckAndRestore(context.Background(), Config{Dir: dir, Level: Race, BeforeLog: before}, written)
		if err != nil {
			t.Fatalf("CheckAndRestore: %v\n%s", err, rep.Summary())
		}
		d := rep.MapRaces
		if !rep.OK() || !d.Compared || len(d.Fixed) != 1 || len(d.Remaining)+len(d.New) != 0 {
			t.Errorf("want a passing check with one map race fixed:\n%s", rep.Summary())
		}
		if !strings.Contains(d.String(), "1 before, 0 after") {
			t.Errorf("race summary %q", d)
		}
		if !equalTrees(tree(t, dir), after) {
			t.Errorf("a passing check changed the tree")
		}
	})
	t.Run("regression", func(t *testing.T) {
		kept := tree(t, dir)
		written := write(t, dir, map[string]string{"counter/counter.go": guarded(true)})
		rep, err := CheckAndRestore(context.Background(), Config{Dir: dir, Level: Race, BeforeLog: before}, written)
		var verr *Error
		if !errors.As(err, &verr) {
			t.Fatalf("want *Error, got %v\n%s", err, rep.Summary())
		}
		if !strings.Contains(err.Error(), "example.com/r/counter.TestGet failed: counter_test.go:18: lost an update") {
			t.Errorf("error does not name the failed test:\n%v", err)
		}
		if !equalTrees(tree(t, dir), kept) {
			t.Errorf("the regressing write was not undone")
		}
	})
}
