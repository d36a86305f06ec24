//go:build !unix

package bench

// processCPUTime reports that the process's CPU time is not known here.
func processCPUTime() (int64, bool) { return 0, false }
