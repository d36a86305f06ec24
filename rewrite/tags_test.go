package rewrite

import "testing"

func TestOmitZeroTag(t *testing.T) {
	for _, tt := range []struct {
		tag, want string
		changed   bool
	}{
		{"`json:\"meta,omitempty\"`", "`json:\"meta,omitzero\"`", true},
		{"`json:\",omitempty\"`", "`json:\",omitzero\"`", true},
		{"`yaml:\"m,omitempty\" json:\"m,string,omitempty\" xml:\"m\"`", "`yaml:\"m,omitempty\" json:\"m,string,omitzero\" xml:\"m\"`", true},
		{`"json:\"m,omitempty\""`, `"json:\"m,omitzero\""`, true},
		{"`json:\"omitempty\"`", "`json:\"omitempty\"`", false}, // the field's name, not an option
		{"`json:\"m,omitempty,omitzero\"`", "`json:\"m,omitempty,omitzero\"`", false},
		{"`json:\"m\"`", "`json:\"m\"`", false},
		{"`yaml:\"m,omitempty\"`", "`yaml:\"m,omitempty\"`", false},
		{"`xjson:\"m,omitempty\"`", "`xjson:\"m,omitempty\"`", false},
		{"`json:\"m\\\\,omitempty\"`", "`json:\"m\\\\,omitempty\"`", false}, // escaped: left alone
		{"`bad tag`", "`bad tag`", false},
	} {
		got, changed := omitZeroTag(tt.tag)
		if got != tt.want || changed != tt.changed {
			t.Errorf("omitZeroTag(%s) = %s, %v; want %s, %v", tt.tag, got, changed, tt.want, tt.changed)
		}
	}
}
