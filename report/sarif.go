package report

import (
	"encoding/json"
	"fmt"
	"go/token"
	"io"
	"path/filepath"
	"strings"

	"github.com/safemapfix/safemapfix"
	"github.com/safemapfix/safemapfix/detect"
)

// SARIF 2.1.0 is the format code-scanning services (GitHub code scanning,
// GitLab, Azure DevOps) import. Only the parts safemapfix fills are
// modelled here.
const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	// srcRoot is the base that every artifact location is relative to:
	// the directory safemapfix ran in.
	srcRoot = "%SRCROOT%"
)

type sarifLog struct {
	Version string     `json:"version"`
	Schema  string     `json:"$schema"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID               string       `json:"id"`
	ShortDescription sarifMessage `json:"shortDescription"`
	FullDescription  sarifMessage `json:"fullDescription"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID           string            `json:"ruleId"`
	Level            string            `json:"level"`
	Message          sarifMessage      `json:"message"`
	Locations        []sarifLocation   `json:"locations"`
	RelatedLocations []sarifLocation   `json:"relatedLocations,omitempty"`
	Properties       map[string]string `json:"properties,omitempty"`
}

type sarifLocation struct {
	ID               int                   `json:"id,omitempty"`
	PhysicalLocation sarifPhysicalLocation `json:"physicalLocation"`
	Message          *sarifMessage         `json:"message,omitempty"`
}

type sarifPhysicalLocation struct {
	ArtifactLocation sarifArtifactLocation `json:"artifactLocation"`
	Region           sarifRegion           `json:"region"`
}

type sarifArtifactLocation struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// rules are the SARIF rules, one per detect.Kind.
var rules = []sarifRule{
	{
		ID:               "safemapfix/" + detect.Race.String(),
		ShortDescription: sarifMessage{"Map accessed concurrently without synchronisation"},
		FullDescription:  sarifMessage{"Two accesses to the same map, at least one a write, can run in different goroutines with no common lock held. Concurrent map writes crash the program (fatal error: concurrent map writes). safemapfix rewrites the map into a concurrency-safe *safemap.Map[K, V]."},
	},
	{
		ID:               "safemapfix/" + detect.WriteUnderRLock.String(),
		ShortDescription: sarifMessage{"Map written while only a read lock is held"},
		FullDescription:  sarifMessage{"A map is written while only the read side of a sync.RWMutex is held, so concurrent readers race with the write. safemapfix rewrites the map into a concurrency-safe *safemap.Map[K, V]."},
	},
}

// SARIF writes the findings as one SARIF 2.1.0 log with a single run.
// Each finding is a result located at the map's declaration, with the
// conflicting accesses as related locations. Proven findings are errors,
// assumed ones warnings. Paths are relative to dir (uriBaseId %SRCROOT%)
// when they are below it. The properties of a result say what the rewrite
// did: "outcome" is fixed, not fixed or below min-confidence, and
// "refusal" gives the reason a map was not fixed.
func SARIF(w io.Writer, dir, version string, res *safemapfix.Result) error {
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:           "safemapfix",
			Version:        version,
			InformationURI: "https://github.com/safemapfix/safemapfix",
			Rules:          rules,
		}},
		Results: []sarifResult{},
	}
	for _, f := range res.Findings {
		level := "error"
		if f.Confidence != detect.Proven {
			level = "warning"
		}
		r := sarifResult{
			RuleID:    "safemapfix/" + f.Kind.String(),
			Level:     level,
			Message:   sarifMessage{sarifText(dir, f)},
			Locations: []sarifLocation{location(dir, f.Decl, "")},
			Properties: map[string]string{
				"object":     f.Name,
				"confidence": f.Confidence.String(),
				"outcome":    outcome(f),
			},
		}
		if f.Refusal != "" {
			r.Properties["refusal"] = relativize(dir, f.Refusal)
		}
		for i, a := range f.Pair {
			loc := location(dir, a.Pos, describeAccess(a))
			loc.ID = i + 1
			r.RelatedLocations = append(r.RelatedLocations, loc)
		}
		run.Results = append(run.Results, r)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sarifLog{Version: sarifVersion, Schema: sarifSchema, Runs: []sarifRun{run}}); err != nil {
		return fmt.Errorf("write SARIF: %w", err)
	}
	return nil
}

// sarifText is the result message: what was found, with links to the
// related locations in SARIF's [text](id) form, and what was done.
func sarifText(dir string, f safemapfix.Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s (%s): %s.", f.Name, f.Kind, f.Confidence, strings.TrimSuffix(f.Reason, "."))
	for i, a := range f.Pair {
		fmt.Fprintf(&b, " [%s](%d) at %s.", a.Op, i+1, pos(dir, a.Pos))
	}
	switch {
	case f.Below:
		b.WriteString(" Not fixed: confidence is below --min-confidence.")
	case f.Fixed:
		b.WriteString(" Fixed: rewritten to a safe map.")
	default:
		fmt.Fprintf(&b, " Not fixed: %s.", strings.TrimSuffix(relativize(dir, f.Refusal), "."))
	}
	return b.String()
}

func outcome(f safemapfix.Finding) string {
	switch {
	case f.Below:
		return "below min-confidence"
	case f.Fixed:
		return "fixed"
	}
	return "not fixed"
}

func location(dir string, p token.Position, msg string) sarifLocation {
	// A file outside dir keeps its absolute path, as a file URI.
	path := rel(dir, p.Filename)
	uri, base := filepath.ToSlash(path), srcRoot
	if filepath.IsAbs(path) {
		uri, base = "file://"+filepath.ToSlash(path), ""
	}
	loc := sarifLocation{PhysicalLocation: sarifPhysicalLocation{
		ArtifactLocation: sarifArtifactLocation{URI: uri, URIBaseID: base},
		Region:           sarifRegion{StartLine: p.Line, StartColumn: p.Column},
	}}
	if msg != "" {
		loc.Message = &sarifMessage{msg}
	}
	return loc
}
