package safemapfix

import (
	"go/token"
	"strings"
	"testing"

	"github.com/safemapfix/safemapfix/detect"
	"github.com/safemapfix/safemapfix/rewrite"
)

// testOnly is a race only a test has: the code's store holds s.mu, the
// test's read holds nothing.
func testOnly(source string) detect.Finding {
	return detect.Finding{
		ID:         "srv.go:8:2",
		Name:       "example.com/srv.Server.clients",
		Decl:       token.Position{Filename: "/m/srv.go", Line: 8, Column: 2},
		Confidence: detect.Proven,
		Source:     source,
		TestOnly:   source == "static",
		Pair: []detect.Access{
			{Pos: token.Position{Filename: "/m/srv.go", Line: 21, Column: 12}, Op: "store", Write: true, Locks: []string{"s.mu (Lock)"}},
			{Pos: token.Position{Filename: "/m/srv_test.go", Line: 10, Column: 13}, Op: "len"},
		},
	}
}

func TestOnePerObjectPrefersRacesOfTheCode(t *testing.T) {
	static := testOnly("static")
	report := testOnly("race-log")
	for _, order := range [][]detect.Finding{{static, report}, {report, static}} {
		got := onePerObject(order, nil)
		if len(got) != 1 {
			t.Fatalf("got %d findings, want 1", len(got))
		}
		if got[0].TestOnly || got[0].Source != "race-log" {
			t.Errorf("kept the %s finding (TestOnly %v); a race report fixes the map whatever static detection says", got[0].Source, got[0].TestOnly)
		}
	}
}

func TestMergeTestOnly(t *testing.T) {
	tests := []struct {
		name        string
		finding     detect.Finding
		objs        []*rewrite.Object
		wantFixed   bool
		wantLeft    bool
		wantRefusal string
	}{
		{
			name:        "left to the tests",
			finding:     testOnly("static"),
			wantLeft:    true,
			wantRefusal: "the code's store at /m/srv.go:21:12 holds s.mu (Lock), the test's len at /m/srv_test.go:10:13 none of them",
		},
		{
			name:      "named with --only",
			finding:   testOnly("only"),
			objs:      []*rewrite.Object{{ID: "srv.go:8:2", Fixed: true}},
			wantFixed: true,
		},
		{
			name:      "rewritten with another map that flows into it",
			finding:   testOnly("static"),
			objs:      []*rewrite.Object{{ID: "srv.go:8:2", Fixed: true, Group: []string{"example.com/srv.all"}}},
			wantFixed: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := merge([]detect.Finding{tt.finding}, tt.objs, detect.Proven)
			if len(got) != 1 {
				t.Fatalf("got %d findings, want 1", len(got))
			}
			f := got[0]
			if f.Fixed != tt.wantFixed || f.LeftToTests != tt.wantLeft {
				t.Errorf("Fixed %v, LeftToTests %v; want %v, %v", f.Fixed, f.LeftToTests, tt.wantFixed, tt.wantLeft)
			}
			if !strings.Contains(f.Refusal, tt.wantRefusal) {
				t.Errorf("refusal %q does not say %q", f.Refusal, tt.wantRefusal)
			}
		})
	}
}
