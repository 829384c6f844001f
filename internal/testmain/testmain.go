// Package testmain is the TestMain of the test binaries that share a
// server (PostgreSQL) across their tests.
package testmain

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// Run runs the tests, then stop (the shared server's), then fails the
// binary if a goroutine outlived the tests, and exits.
func Run(m *testing.M, stop func() error) {
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the shared server:", err)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
