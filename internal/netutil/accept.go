// Package netutil is network plumbing shared by the module's servers.
package netutil

import (
	"errors"
	"net"
	"time"
)

// Accept accepts connections on l and hands each to serve (which must
// not block for long) until Accept fails for good. A timeout-class
// failure is retried after a pause of 5 ms doubling up to 1 s, as
// net/http does. When the failure comes from the server closing (closed
// reports true) Accept returns nil; else it returns the listener's error.
func Accept(l net.Listener, closed func() bool, serve func(net.Conn)) error {
	var delay time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if closed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		serve(conn)
	}
}
