// Package modem drives a GSM modem (a USB stick, a modem pool's port, a
// phone) with the AT commands of 3GPP TS 27.005 and 27.007, in PDU mode:
// it sends SMS (GSM 7-bit or UCS-2, long ones in concatenated parts, with
// status reports requested), turns status reports into the receipt states
// the SMPP path uses, hands over received SMS (reassembled) and deletes
// each from the SIM only after the handler took it, enters the PIN, and
// reports registration and signal quality.
//
// A Modem talks over any io.ReadWriteCloser: a serial port (see
// OpenSerial), a pty, a TCP-to-serial bridge, or the simulator of package
// modemtest. One goroutine reads the modem's lines; unsolicited result
// codes (+CMTI, +CDS, +CREG, RING ...) that arrive in the middle of a
// command's response are told apart from it and handled on their own.
// Commands run one at a time, each under the caller's context and a
// timeout. Lines are at most MaxLine bytes; a modem that sends longer
// ones, or garbage, gets its lines refused, never a panic or unbounded
// memory.
package modem
