//go:build !windows

package modemtest

import (
	"fmt"

	"github.com/creack/pty"
)

// ServePTY serves the simulated modem on a new pseudo-terminal and
// returns the path of its device (e.g. /dev/pts/7), which a driver opens
// as it would a modem's serial port, and a function that ends it.
func (m *Modem) ServePTY() (path string, stop func(), err error) {
	master, tty, err := pty.Open()
	if err != nil {
		return "", nil, fmt.Errorf("modemtest: opening a pty: %w", err)
	}
	rawMode(tty)
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.serve(master)
	}()
	return tty.Name(), func() { master.Close(); tty.Close() }, nil
}
