package report

import (
	"bytes"
	"encoding/json"
	"go/token"
	"testing"

	"github.com/safemapfix/safemapfix"
	"github.com/safemapfix/safemapfix/detect"
)

// TestSARIF checks the parts of a SARIF 2.1.0 log that code-scanning
// services require: version, tool name, and results with a rule, a level,
// a message and a location, every rule referenced being declared.
func TestSARIF(t *testing.T) {
	res := &safemapfix.Result{Findings: []safemapfix.Finding{
		{
			Finding: detect.Finding{
				Name: "example.com/m.seen", Kind: detect.Race, Confidence: detect.Proven,
				Reason: "stored from two goroutines",
				Decl:   token.Position{Filename: "/mod/m.go", Line: 3, Column: 5},
				Pair: []detect.Access{
					{Pos: token.Position{Filename: "/mod/m.go", Line: 7, Column: 14}, Op: "store", Write: true, Root: "go statement at m.go:7:3"},
					{Pos: token.Position{Filename: "/mod/sub/r.go", Line: 4, Column: 9}, Op: "load"},
				},
			},
			Fixed: true,
		},
		{
			Finding: detect.Finding{
				Name: "example.com/m.T.cache", Kind: detect.WriteUnderRLock, Confidence: detect.Assumed,
				Reason: "written under RLock",
				Decl:   token.Position{Filename: "/elsewhere/t.go", Line: 10, Column: 2},
			},
			Refusal: "passed to f at /mod/m.go:20:4, which takes a map",
		},
	}}
	var buf bytes.Buffer
	if err := SARIF(&buf, "/mod", "v1.2.3", res); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version string `json:"version"`
		Schema  string `json:"$schema"`
		Runs    []struct {
			Tool struct {
				Driver struct {
					Name    string `json:"name"`
					Version string `json:"version"`
					Rules   []struct {
						ID string `json:"id"`
					} `json:"rules"`
				} `json:"driver"`
			} `json:"tool"`
			Results []struct {
				RuleID  string `json:"ruleId"`
				Level   string `json:"level"`
				Message struct {
					Text string `json:"text"`
				} `json:"message"`
				Locations        []sarifLocation   `json:"locations"`
				RelatedLocations []sarifLocation   `json:"relatedLocations"`
				Properties       map[string]string `json:"properties"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	if doc.Version != "2.1.0" || doc.Schema == "" {
		t.Errorf("version %q, $schema %q; want 2.1.0 and a schema", doc.Version, doc.Schema)
	}
	if len(doc.Runs) != 1 {
		t.Fatalf("%d runs, want 1", len(doc.Runs))
	}
	run := doc.Runs[0]
	if run.Tool.Driver.Name != "safemapfix" || run.Tool.Driver.Version != "v1.2.3" {
		t.Errorf("driver %q %q", run.Tool.Driver.Name, run.Tool.Driver.Version)
	}
	declared := map[string]bool{}
	for _, r := range run.Tool.Driver.Rules {
		declared[r.ID] = true
	}
	want := []struct {
		rule, level, uri, base string
		line, related          int
		outcome                string
	}{
		{"safemapfix/race", "error", "m.go", "%SRCROOT%", 3, 2, "fixed"},
		{"safemapfix/write-under-rlock", "warning", "file:///elsewhere/t.go", "", 10, 0, "not fixed"},
	}
	if len(run.Results) != len(want) {
		t.Fatalf("%d results, want %d", len(run.Results), len(want))
	}
	for i, w := range want {
		r := run.Results[i]
		if r.RuleID != w.rule || !declared[r.RuleID] {
			t.Errorf("result %d: ruleId %q (declared: %v), want %q", i, r.RuleID, declared[r.RuleID], w.rule)
		}
		if r.Level != w.level {
			t.Errorf("result %d: level %q, want %q", i, r.Level, w.level)
		}
		if r.Message.Text == "" {
			t.Errorf("result %d: empty message", i)
		}
		if len(r.Locations) != 1 {
			t.Fatalf("result %d: %d locations, want 1", i, len(r.Locations))
		}
		loc := r.Locations[0].PhysicalLocation
		if loc.ArtifactLocation.URI != w.uri || loc.ArtifactLocation.URIBaseID != w.base || loc.Region.StartLine != w.line {
			t.Errorf("result %d: location %+v, want %s (base %q) line %d", i, loc, w.uri, w.base, w.line)
		}
		if len(r.RelatedLocations) != w.related {
			t.Errorf("result %d: %d related locations, want %d", i, len(r.RelatedLocations), w.related)
		}
		if r.Properties["outcome"] != w.outcome {
			t.Errorf("result %d: outcome %q, want %q", i, r.Properties["outcome"], w.outcome)
		}
	}
	if got := run.Results[0].RelatedLocations[1].PhysicalLocation.ArtifactLocation.URI; got != "sub/r.go" {
		t.Errorf("related location uri %q, want sub/r.go", got)
	}
	if got := run.Results[1].Properties["refusal"]; got != "passed to f at m.go:20:4, which takes a map" {
		t.Errorf("refusal %q, want paths relative to the run directory", got)
	}
}
