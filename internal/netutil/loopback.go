package netutil

import "net"

// LoopbackHost reports whether host (a name or an address, no port) is
// this machine: "localhost" or a loopback IP.
func LoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
