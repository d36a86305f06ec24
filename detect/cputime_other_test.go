//go:build !unix

package detect

import "time"

// cpuTime is not measured here: the inspect test reports 0.
func cpuTime() time.Duration { return 0 }
