// Package jobs runs jobs on a pool of workers and keeps statistics about
// them. It has two racy maps for safemapfix to fix, and one guarded by a
// mutex that it must leave alone.
package jobs

import (
	"fmt"
	"sync"
)

// attempts counts how often each job was tried, across all pools.
var attempts = map[string]int{}

// Pool runs jobs concurrently.
type Pool struct {
	// results holds the outcome of every finished job.
	results map[string]string

	mu      sync.Mutex
	history map[string][]string // guarded by mu
}

// NewPool returns an empty pool.
func NewPool() *Pool {
	return &Pool{
		results: make(map[string]string),
		history: make(map[string][]string),
	}
}

// Run runs every job in its own goroutine and waits for all of them.
func (p *Pool) Run(jobs []string) {
	var wg sync.WaitGroup
	for _, job := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.work(job)
		}()
	}
	wg.Wait()
}

func (p *Pool) work(job string) {
	attempts[job]++ // lost updates without the fix
	p.results[job] = fmt.Sprintf("%s: done", job)

	p.mu.Lock()
	p.history[job] = append(p.history[job], "ran")
	p.mu.Unlock()
}

// Result reports the outcome of job, if it finished.
func (p *Pool) Result(job string) (string, bool) {
	r, ok := p.results[job]
	return r, ok
}

// Attempts reports how often job was tried.
func Attempts(job string) int {
	return attempts[job]
}
