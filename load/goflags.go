package load

import (
	"os"
	"path/filepath"
	"strings"
)

// liftModuleFlags moves the module flags (-modfile, -mod, -modcacherw) out
// of GOFLAGS in env (nil: the process environment) and returns them as
// build flags, with the environment left without them.
//
// go/packages runs one go command with GO111MODULE=off to learn the Go
// version, and the go command rejects those flags outside module mode
// ("build flag -modfile only valid when using modules"; golang/go#48482),
// so GOFLAGS=-modfile=go_test.mod, the way some modules keep their test
// dependencies apart, would stop every load. As build flags, go/packages
// passes them only to the go list that loads the packages. A relative
// -modfile names a file from dir, where the user ran the command, as the
// go command would read it.
func liftModuleFlags(env []string, dir string) ([]string, []string) {
	if env == nil {
		env = os.Environ()
	}
	at := -1
	for i, kv := range env {
		if strings.HasPrefix(kv, "GOFLAGS=") {
			at = i // the last one wins, as in the go command
		}
	}
	if at < 0 {
		return env, nil
	}
	var keep, lifted []string
	for _, f := range strings.Fields(strings.TrimPrefix(env[at], "GOFLAGS=")) {
		name, value, hasValue := strings.Cut(strings.TrimLeft(f, "-"), "=")
		switch name {
		case "modfile":
			if hasValue && !filepath.IsAbs(value) {
				f = "-modfile=" + filepath.Join(dir, value)
			}
			lifted = append(lifted, f)
		case "mod", "modcacherw":
			lifted = append(lifted, f)
		default:
			keep = append(keep, f)
		}
	}
	if len(lifted) == 0 {
		return env, nil
	}
	out := append([]string(nil), env...)
	out[at] = "GOFLAGS=" + strings.Join(keep, " ")
	return out, lifted
}
