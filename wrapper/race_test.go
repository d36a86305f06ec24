//go:build race

package safemap

// raceEnabled reports whether the race detector is on; its runtime
// allocates on its own, so allocation counts are not checked then.
const raceEnabled = true
