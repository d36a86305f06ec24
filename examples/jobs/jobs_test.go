package jobs

import "testing"

func TestRun(t *testing.T) {
	p := NewPool()
	before := Attempts("build")
	jobs := []string{"build", "test", "build", "lint", "build"}
	p.Run(jobs)
	if got := Attempts("build") - before; got != 3 {
		t.Errorf("build attempted %d more times, want 3", got)
	}
	if r, ok := p.Result("lint"); !ok || r != "lint: done" {
		t.Errorf("lint result = %q, %v", r, ok)
	}
}
