//go:build !unix

package audit

import "os"

// lock is a no-op where flock is unavailable: appends are then serialised only within one process.
func lock(*os.File) error { return nil }

func unlock(*os.File) {}
