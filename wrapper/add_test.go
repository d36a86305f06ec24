package safemap

import "testing"

// TestAddStrings checks that Add appends like += on a string element:
// m[k] += x is m[k] + x, not x + m[k].
func TestAddStrings(t *testing.T) {
	m := New[string, string]()
	Add(m, "k", "a")
	Add(m, "k", "b")
	if got := Add(m, "k", "c"); got != "abc" {
		t.Fatalf("Add = %q, want abc", got)
	}
	if got := m.Get("k"); got != "abc" {
		t.Fatalf("Get = %q, want abc", got)
	}
}
