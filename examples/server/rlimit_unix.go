//go:build unix

package main

import "syscall"

// raiseFileLimit raises the soft limit on open files to the hard limit:
// every chat connection is a descriptor, and a common soft limit (1,024)
// is far below what the chat server accepts by default. It returns the
// limit in effect.
func raiseFileLimit() (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
			return 0, err
		}
	}
	return uint64(lim.Cur), nil
}
