package load

import (
	"slices"
	"testing"
)

func TestLiftModuleFlags(t *testing.T) {
	tests := []struct {
		name      string
		env       []string
		wantEnv   []string
		wantFlags []string
	}{
		{
			name:    "no GOFLAGS",
			env:     []string{"HOME=/h"},
			wantEnv: []string{"HOME=/h"},
		},
		{
			name:    "other flags stay",
			env:     []string{"GOFLAGS=-trimpath -tags=x"},
			wantEnv: []string{"GOFLAGS=-trimpath -tags=x"},
		},
		{
			name:      "relative modfile is read from the directory",
			env:       []string{"HOME=/h", "GOFLAGS=-trimpath -modfile=go_test.mod"},
			wantEnv:   []string{"HOME=/h", "GOFLAGS=-trimpath"},
			wantFlags: []string{"-modfile=/work/m/go_test.mod"},
		},
		{
			name:      "absolute modfile, mod and modcacherw",
			env:       []string{"GOFLAGS=--modfile=/x/go.mod -mod=mod -modcacherw"},
			wantEnv:   []string{"GOFLAGS="},
			wantFlags: []string{"--modfile=/x/go.mod", "-mod=mod", "-modcacherw"},
		},
		{
			name:      "the last GOFLAGS wins",
			env:       []string{"GOFLAGS=-mod=vendor", "GOFLAGS=-mod=mod"},
			wantEnv:   []string{"GOFLAGS=-mod=vendor", "GOFLAGS="},
			wantFlags: []string{"-mod=mod"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := slices.Clone(tt.env)
			gotEnv, gotFlags := liftModuleFlags(env, "/work/m")
			if !slices.Equal(gotEnv, tt.wantEnv) || !slices.Equal(gotFlags, tt.wantFlags) {
				t.Errorf("liftModuleFlags(%q) = %q, %q; want %q, %q", tt.env, gotEnv, gotFlags, tt.wantEnv, tt.wantFlags)
			}
			if !slices.Equal(env, tt.env) {
				t.Errorf("liftModuleFlags changed its argument to %q", env)
			}
		})
	}
}
