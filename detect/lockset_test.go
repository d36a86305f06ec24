package detect

import "testing"

// TestLocksetMeetCommon checks the walks over two sorted locksets against
// sets built in different orders.
func TestLocksetMeetCommon(t *testing.T) {
	build := func(hs ...held) lockset {
		var s lockset
		for _, h := range hs {
			s = s.with(h)
		}
		return s
	}
	a, b, c, d := held{key: "a"}, held{key: "b"}, held{key: "c"}, held{key: "d"}
	rb, rc := held{key: "b", read: true}, held{key: "c", read: true}
	tests := []struct {
		name   string
		s, t   lockset
		meet   lockset
		common bool
	}{
		{"empty", nil, build(a), nil, false},
		{"disjoint", build(d, a), build(c, b), nil, false},
		{"one shared", build(c, a, d), build(b, c), build(c), true},
		{"read and write", build(rb, a), build(d, b), build(rb), true},
		{"both read", build(rb, rc), build(c, rb), build(rb, rc), true},
		{"only read shared", build(rb, d), build(rb, a), build(rb), false},
		{"last keys", build(d, a), build(d), build(d), true},
	}
	for _, tt := range tests {
		if got := tt.s.meet(tt.t); !got.equal(tt.meet) {
			t.Errorf("%s: meet = %v, want %v", tt.name, got, tt.meet)
		}
		if got := common(tt.s, tt.t); got != tt.common {
			t.Errorf("%s: common = %v, want %v", tt.name, got, tt.common)
		}
		if got := common(tt.t, tt.s); got != tt.common {
			t.Errorf("%s: common reversed = %v, want %v", tt.name, got, tt.common)
		}
	}
}
