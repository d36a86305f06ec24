// Package report prints findings for people (file:line:col: message lines,
// as editors expect) and for programs (JSON, and SARIF 2.1.0 for
// code-scanning services).
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/token"
	"io"
	"path/filepath"
	"strings"

	"github.com/safemapfix/safemapfix"
	"github.com/safemapfix/safemapfix/detect"
	"github.com/safemapfix/safemapfix/emit"
)

// Text writes one block per finding: a first line in
// file:line:col: message form, then indented evidence and the outcome.
// Paths are relative to dir when they are below it.
func Text(w io.Writer, dir string, findings []safemapfix.Finding) error {
	var b bytes.Buffer
	for _, f := range findings {
		fmt.Fprintf(&b, "%s: %s: %s (%s): %s\n", pos(dir, f.Decl), f.Name, f.Kind, f.Confidence, f.Reason)
		for _, a := range f.Pair {
			fmt.Fprintf(&b, "\t%s: %s\n", pos(dir, a.Pos), describeAccess(a))
		}
		for _, a := range f.Assumptions {
			fmt.Fprintf(&b, "\tassumes: %s\n", a)
		}
		switch {
		case f.Below:
			fmt.Fprintf(&b, "\tnot fixed: confidence %s is below the minimum (see --min-confidence)\n", f.Confidence)
		case f.Fixed:
			msg := "\tfixed: rewritten to a safe map"
			if len(f.Group) > 0 {
				msg += ", together with " + strings.Join(f.Group, ", ")
			}
			fmt.Fprintln(&b, msg)
		default:
			fmt.Fprintf(&b, "\tnot fixed: %s\n", relativize(dir, f.Refusal))
		}
		for _, n := range f.Notes {
			fmt.Fprintf(&b, "\tnote: %s\n", relativize(dir, n))
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

// describeAccess says what an access does, from which goroutine, and under
// which locks: "store, from go statement at main.go:9:2 via worker →
// record; locks held: none".
func describeAccess(a detect.Access) string {
	s := a.Op
	if a.Root != "" {
		s += ", from " + a.Root
	}
	if len(a.Path) > 0 {
		s += " via " + strings.Join(a.Path, " → ")
	}
	locks := "none"
	if len(a.Locks) > 0 {
		locks = strings.Join(a.Locks, ", ")
	}
	return s + "; locks held: " + locks
}

func pos(dir string, p token.Position) string {
	p.Filename = rel(dir, p.Filename)
	return p.String()
}

func rel(dir, path string) string {
	if dir == "" || path == "" {
		return path
	}
	r, err := filepath.Rel(dir, path)
	if err != nil || strings.HasPrefix(r, "..") {
		return path
	}
	return r
}

// relativize shortens the absolute paths below dir inside a message.
func relativize(dir, msg string) string {
	if dir == "" {
		return msg
	}
	return strings.ReplaceAll(msg, dir+string(filepath.Separator), "")
}

// JSONReport is the document --json (--format=json) prints. Its fields are
// part of the command's interface: new fields may be added, none is renamed
// or removed. Positions are "file:line:col" strings and paths are relative
// to the directory safemapfix ran in when they lie below it. Both lists are
// always present, empty rather than null.
//
// An example, trimmed:
//
//	{
//	  "findings": [{
//	    "name": "example.com/m.seen",
//	    "decl": "m.go:3:5",
//	    "kind": "race",                  // or "write-under-rlock"
//	    "confidence": "proven",          // or "assumed"
//	    "source": "static",              // who found it: static, race-log, only
//	    "reason": "...",
//	    "pair": [{"pos": "m.go:7:15", "op": "store", "write": true,
//	              "root": "go statement at m.go:7:3", "path": [], "locks": []}],
//	    "assumptions": [],
//	    "fixed": true,
//	    "refusal": "...",                // when not fixed
//	    "test_only": true,               // only accesses in _test.go files race
//	    "below_min_confidence": true,    // when reported only
//	    "group": ["..."],                // objects rewritten together with it
//	    "notes": ["..."]
//	  }],
//	  "files": [{"path": "m.go", "diff": "--- a/m.go\n+++ b/m.go\n...", "created": false}]
//	}
type JSONReport struct {
	Findings []JSONFinding `json:"findings"`
	Files    []JSONFile    `json:"files"`
}

// JSONFinding is one finding.
type JSONFinding struct {
	Name        string       `json:"name"`
	Decl        string       `json:"decl"`
	Kind        string       `json:"kind"`
	Confidence  string       `json:"confidence"`
	Source      string       `json:"source"`
	Reason      string       `json:"reason"`
	Pair        []JSONAccess `json:"pair"`
	Assumptions []string     `json:"assumptions"`
	Fixed       bool         `json:"fixed"`
	Refusal     string       `json:"refusal,omitempty"`
	TestOnly    bool         `json:"test_only,omitempty"`
	Below       bool         `json:"below_min_confidence,omitempty"`
	Group       []string     `json:"group,omitempty"`
	Notes       []string     `json:"notes,omitempty"`
}

// JSONAccess is one access of a conflicting pair.
type JSONAccess struct {
	Pos   string   `json:"pos"`
	Op    string   `json:"op"`
	Write bool     `json:"write"`
	Root  string   `json:"root"`
	Path  []string `json:"path"`
	Locks []string `json:"locks"`
}

// JSONFile is one changed file with its unified diff.
type JSONFile struct {
	Path    string `json:"path"`
	Created bool   `json:"created,omitempty"`
	Diff    string `json:"diff"`
}

// JSON writes the result as one indented JSON document.
func JSON(w io.Writer, dir string, res *safemapfix.Result) error {
	doc := JSONReport{Findings: []JSONFinding{}, Files: []JSONFile{}}
	for _, f := range res.Findings {
		jf := JSONFinding{
			Name:        f.Name,
			Decl:        pos(dir, f.Decl),
			Kind:        f.Kind.String(),
			Confidence:  f.Confidence.String(),
			Source:      f.Source,
			Reason:      f.Reason,
			Pair:        []JSONAccess{},
			Assumptions: append([]string{}, f.Assumptions...),
			Fixed:       f.Fixed,
			Refusal:     relativize(dir, f.Refusal),
			TestOnly:    f.TestOnly,
			Below:       f.Below,
			Group:       f.Group,
		}
		for _, n := range f.Notes {
			jf.Notes = append(jf.Notes, relativize(dir, n))
		}
		for _, a := range f.Pair {
			jf.Pair = append(jf.Pair, JSONAccess{
				Pos: pos(dir, a.Pos), Op: a.Op, Write: a.Write, Root: a.Root,
				Path: append([]string{}, a.Path...), Locks: append([]string{}, a.Locks...),
			})
		}
		doc.Findings = append(doc.Findings, jf)
	}
	for _, c := range res.Files {
		var d bytes.Buffer
		if err := emit.Diff(&d, dir, []emit.Change{{Path: c.Path, Old: c.Old, New: c.New}}); err != nil {
			return err
		}
		doc.Files = append(doc.Files, JSONFile{Path: rel(dir, c.Path), Created: c.Old == nil, Diff: d.String()})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
