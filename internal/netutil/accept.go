// Package netutil is network plumbing shared by the module's servers.
package netutil

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// Accept accepts connections on l and hands each to serve (which must
// not block for long) until Accept fails for good. A failure the machine
// recovers from (a timeout, out of file descriptors or kernel buffers, a
// connection aborted before it was accepted) is retried after a pause of
// 5 ms doubling up to 1 s, as net/http does: a server must outlive a
// moment without descriptors. When the failure comes from the server
// closing (closed reports true) Accept returns nil; else it returns the
// listener's error.
func Accept(l net.Listener, closed func() bool, serve func(net.Conn)) error {
	var delay time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if closed() {
				return nil
			}
			if Retryable(err) {
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

// Retryable reports whether an Accept error passes with time: a timeout,
// EMFILE/ENFILE (no file descriptor), ENOBUFS/ENOMEM, or ECONNABORTED (a
// client gave up in the backlog).
func Retryable(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
