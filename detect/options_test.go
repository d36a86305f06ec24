package detect_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safemapfix/safemapfix/detect"
	"github.com/safemapfix/safemapfix/load"
)

const optionsSrc = `package p

import "sync"

var racy = map[string]int{}

var quiet = map[string]int{}

//safemapfix:ignore reviewed: only approximate counts
var ignoredVar = map[string]int{}

var calm = map[string]int{"a": 1}

type Store struct {
	mu   sync.Mutex
	data map[string]string
}

func (s *Store) Get(k string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.data[k]
}

func (s *Store) Put(k, v string) { s.data[k] = v }

func Fill(keys []string) {
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			racy[k]++
			quiet[k]++
			ignoredVar[k]++
			_ = calm[k]
		}()
	}
	wg.Wait()
}
`

// TestOptions checks Only, Exclude, the ignore directive and MinConfidence.
func TestOptions(t *testing.T) {
	prog := loadModule(t, map[string]string{
		"go.mod": "module example.com/opt\n\ngo 1.26\n",
		"p.go":   optionsSrc,
	})
	tests := []struct {
		name string
		opts detect.Options
		want string // name:source:confidence, in declaration order; "below" when BelowMin
		err  string
	}{
		{"default", detect.Options{}, "racy:static:proven quiet:static:proven Store.data:static:assumed", ""},
		{"min proven", detect.Options{MinConfidence: detect.Proven}, "racy:static:proven quiet:static:proven Store.data:static:assumed:below", ""},
		{"exclude", detect.Options{Exclude: []string{"example.com/opt.quiet"}}, "racy:static:proven Store.data:static:assumed", ""},
		{"only adds a safe map", detect.Options{Only: []string{"example.com/opt.calm"}}, "racy:static:proven quiet:static:proven calm:only:proven Store.data:static:assumed", ""},
		{"only overrides ignore", detect.Options{Only: []string{"example.com/opt.ignoredVar"}}, "racy:static:proven quiet:static:proven ignoredVar:only:proven Store.data:static:assumed", ""},
		{"exclude wins over only", detect.Options{Only: []string{"example.com/opt.calm"}, Exclude: []string{"example.com/opt.calm", "example.com/opt.Store.data"}}, "racy:static:proven quiet:static:proven", ""},
		{"unknown name", detect.Options{Only: []string{"example.com/opt.nope"}}, "", "no map object named example.com/opt.nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := detect.Find(prog.Fset, prog.Packages, tt.opts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range fs {
				s := strings.TrimPrefix(f.Name, "example.com/opt.") + ":" + f.Source + ":" + f.Confidence.String()
				if f.BelowMin {
					s += ":below"
				}
				got = append(got, s)
				if f.Source == "static" && (len(f.Pair) != 2 || f.Reason == "") {
					t.Errorf("%s: no evidence: %q %v", f.Name, f.Reason, f.Pair)
				}
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("findings %q, want %q", g, tt.want)
			}
		})
	}
}

// loadModule writes files (go.mod among them) into a new directory and
// loads its packages, tests included, as safemapfix does.
func loadModule(t *testing.T, files map[string]string) *load.Program {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
	prog, err := load.Load(load.Config{Dir: dir, Tests: true, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	return prog
}
