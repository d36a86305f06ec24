//go:build unix

package bench

import "syscall"

// processCPUTime returns the CPU time the process has used, in nanoseconds,
// and whether it is known.
func processCPUTime() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}
