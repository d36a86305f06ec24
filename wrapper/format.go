package safemap

import "fmt"

// String returns m formatted as fmt formats the built-in map holding the same
// entries, for example map[a:1 b:2]. It replaces fmt.Sprint(m).
func (m *Map[K, V]) String() string {
	return fmt.Sprint(m.Clone())
}

// Format makes fmt print m exactly as it prints the built-in map holding the
// same entries, for every verb and flag: %v gives map[a:1 b:2] with keys
// sorted, and %#v gives Go syntax for the built-in map,
// map[string]int{"a":1, "b":2}. A nil m prints as a nil map.
func (m *Map[K, V]) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), m.Clone())
}
