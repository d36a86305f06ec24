package jobs

import "testing"

func TestRun(t *testing.T) {
	p := NewPool()
	jobs := []string{"build", "test", "build", "lint", "build"}
	p.Run(jobs)
	if got := Attempts("build"); got != 3 {
		t.Errorf("build attempted %d times, want 3", got)
	}
	if r, ok := p.Result("lint"); !ok || r != "lint: done" {
		t.Errorf("lint result = %q, %v", r, ok)
	}
}
