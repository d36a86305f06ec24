package detect_test

import (
	"strings"
	"testing"

	"github.com/safemapfix/safemapfix/detect"
)

// TestRootNamesAbbreviated checks that a goroutine started through an
// interface with many implementations is described by a few of them and
// a count, not by all: the finding's call path names the one that
// reaches the access.
func TestRootNamesAbbreviated(t *testing.T) {
	var src strings.Builder
	src.WriteString(`package p

var seen = map[string]int{}

type runner interface{ Run() }

func Start(rs []runner) {
	for _, r := range rs {
		go r.Run()
	}
}
`)
	for _, name := range []string{"A", "B", "C", "D", "E"} {
		src.WriteString("\ntype " + name + " struct{}\n\nfunc (" + name + ") Run() { seen[\"" + name + "\"]++ }\n")
	}
	src.WriteString("\nvar All = []runner{A{}, B{}, C{}, D{}, E{}}\n")
	prog := loadModule(t, map[string]string{
		"go.mod": "module example.com/names\n\ngo 1.26\n",
		"p.go":   src.String(),
	})
	findings, err := detect.Find(prog.Fset, prog.Packages, detect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 1 {
		t.Fatalf("got %d findings, want 1 (seen)", len(findings))
	}
	reason := findings[0].Reason
	if !strings.Contains(reason, "running (A).Run, (B).Run, (C).Run and 2 more,") {
		t.Errorf("reason = %q, want the root described by three of its five callees and a count", reason)
	}
}
