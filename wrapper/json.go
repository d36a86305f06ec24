package safemap

import (
	"bytes"
	"encoding/json"
	"errors"
)

// MarshalJSON encodes m exactly as encoding/json encodes the built-in map
// holding the same entries: an object with sorted keys, or null for a nil m.
// It makes json.Marshal of a *Map (or of a struct field holding one) give
// what json.Marshal of the built-in map gives.
func (m *Map[K, V]) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// encoding/json escapes HTML in a Marshaler's output itself when the
	// caller asks for it, so escaping here would force it on callers who
	// turned it off.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m.Clone()); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// UnmarshalJSON decodes a JSON object into m as encoding/json decodes into a
// non-nil built-in map: decoded entries are added to the existing ones,
// replacing values for keys already present. It makes json.Unmarshal into a
// *Map behave as json.Unmarshal into the built-in map. JSON null passed to
// UnmarshalJSON directly leaves m unchanged; json.Unmarshal itself sets a
// *Map field to nil for null, as it sets a map field to nil.
func (m *Map[K, V]) UnmarshalJSON(data []byte) error {
	if m == nil {
		return errors.New("safemap: UnmarshalJSON on nil *Map")
	}
	var decoded map[K]V
	// On a type error encoding/json still decodes what it can, and a
	// built-in map keeps those entries; so does m.
	err := json.Unmarshal(data, &decoded)
	for k, v := range decoded {
		m.Store(k, v)
	}
	return err
}

// IsZero reports whether m holds no entries, as for a nil m. encoding/json
// calls it for a field tagged omitzero, which then omits an empty Map as
// omitempty omits an empty built-in map: safemapfix rewrites the omitempty
// option of a map field it rewrites to omitzero.
func (m *Map[K, V]) IsZero() bool { return m.Len() == 0 }
