// Package profile writes the profiles the benchmark programs take with
// -cpuprofile and -memprofile.
package profile

import (
	"os"
	"runtime"
	"runtime/pprof"
)

// CPU starts a CPU profile written to path (nothing when path is empty);
// stop ends it.
func CPU(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// Allocs samples allocations (one per 64 KiB) from now on; stop writes
// the allocation profile of the whole run to path (nothing when path is
// empty).
func Allocs(path string) (stop func() error) {
	if path == "" {
		return func() error { return nil }
	}
	runtime.MemProfileRate = 64 << 10
	return func() error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
}
