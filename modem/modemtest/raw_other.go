//go:build !linux && !windows

package modemtest

import "os"

// rawMode is left to the driver elsewhere: go.bug.st/serial sets the port
// raw when it opens it.
func rawMode(*os.File) {}
