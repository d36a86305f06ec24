package safemap

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/netip"
	"reflect"
	"testing"
)

// jsonSeeds is the seed corpus shared by the JSON fuzz tests.
var jsonSeeds = []string{
	`{}`,
	`null`,
	`{"m":null}`,
	`{"m":{}}`,
	`{"m":{"a":1,"b":2}}`,
	`{"m":{"a":1,"a":2}}`,
	`{"m":{"1":"x","-7":true,"<&>":[1,2],"\u00e9":{"z":null}}}`,
	`{"m":{"10.0.0.1":"a","::1":"b"}}`,
	`{"m":{"a":"not a number","b":3}}`,
	`{"m":{"99999999999999999999":1}}`,
	`{"m":[1,2]}`,
	`{"m":{"a":1}`,
	`{"m":{"a":1.5e300,"b":-0}}`,
	`{"M":{"x":1}}`,
}

// checkJSON decodes data into a struct holding a built-in map and into one
// holding a Map, both starting with the same entries, and checks that the
// outcomes match and that both encode to the same bytes.
func checkJSON[K comparable, V any](t *testing.T, data []byte, initial map[K]V) {
	t.Helper()
	type builtin struct {
		M map[K]V `json:"m"`
	}
	type safe struct {
		M *Map[K, V] `json:"m"`
	}
	want := builtin{maps.Clone(initial)}
	got := safe{From(maps.Clone(initial))}
	wantErr := json.Unmarshal(data, &want)
	gotErr := json.Unmarshal(data, &got)
	if (wantErr == nil) != (gotErr == nil) {
		t.Fatalf("Unmarshal(%q): error %v, want %v", data, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got.M.Clone(), want.M) {
		t.Fatalf("Unmarshal(%q) = %v, want %v", data, got.M.Clone(), want.M)
	}
	wantOut, wantErr := json.Marshal(want)
	gotOut, gotErr := json.Marshal(got)
	if (wantErr == nil) != (gotErr == nil) || !bytes.Equal(gotOut, wantOut) {
		t.Fatalf("Marshal after Unmarshal(%q) = %s, %v, want %s, %v", data, gotOut, gotErr, wantOut, wantErr)
	}
	wantOut, _ = json.MarshalIndent(want, ">", "  ")
	gotOut, _ = json.MarshalIndent(got, ">", "  ")
	if !bytes.Equal(gotOut, wantOut) {
		t.Fatalf("MarshalIndent after Unmarshal(%q) = %s, want %s", data, gotOut, wantOut)
	}
}

func FuzzJSONStringKeys(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkJSON(t, data, map[string]int{"a": 7, "keep": 1})
		checkJSON(t, data, map[string]any{"a": "x", "keep": []any{1.0}})
	})
}

func FuzzJSONIntKeys(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkJSON(t, data, map[int]any{1: "x", -2: nil})
		checkJSON(t, data, map[uint8]float64{})
	})
}

// netip.Addr keys exercise encoding.TextMarshaler and TextUnmarshaler keys.
func FuzzJSONTextKeys(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkJSON(t, data, map[netip.Addr]string{netip.MustParseAddr("10.0.0.1"): "old"})
	})
}

func TestJSONUnsupportedKey(t *testing.T) {
	type key struct{ A int }
	_, wantErr := json.Marshal(map[key]int{{1}: 1})
	_, gotErr := json.Marshal(From(map[key]int{{1}: 1}))
	if wantErr == nil || gotErr == nil {
		t.Fatalf("Marshal with a struct key: error %v, want %v", gotErr, wantErr)
	}
}

// TestOmitZero checks that a Map field tagged omitzero is omitted exactly
// when a built-in map field tagged omitempty is: nil or empty.
func TestOmitZero(t *testing.T) {
	type builtin struct {
		M map[string]int `json:"m,omitempty"`
	}
	type safe struct {
		M *Map[string, int] `json:"m,omitzero"`
	}
	for _, m := range []map[string]int{nil, {}, {"a": 1}} {
		want, err := json.Marshal(builtin{M: m})
		if err != nil {
			t.Fatal(err)
		}
		var sm *Map[string, int]
		if m != nil {
			sm = From(maps.Clone(m))
		}
		got, err := json.Marshal(safe{M: sm})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("map %v: safe map encodes to %s, built-in map to %s", m, got, want)
		}
	}
	emptied := From(map[string]int{"a": 1})
	emptied.Delete("a")
	if got, _ := json.Marshal(safe{M: emptied}); string(got) != "{}" {
		t.Errorf("emptied safe map encodes to %s, want {}", got)
	}
}
