package chat

import "slices"

// Versions and capabilities. The frame header carries the sender's
// protocol version; a server reads a HELLO of any later version and
// answers in WELCOME.Version the version both speak from then on (a
// server of the first version refuses it: clients should retry with
// version 1). Within a version, optional features are named by
// capabilities: the client lists those it understands in HELLO.Caps,
// the server answers with the ones it shares in WELCOME.Caps, and
// neither side uses a feature the other did not list. A frame that
// carries FlagIgnorable may be skipped by a peer that does not know its
// type; any other unknown frame is refused with ERROR unsupported (the
// connection goes on).

// Capabilities this package understands.
const (
	// CapCursors: HELLO Cursors are honoured (an operator resuming).
	CapCursors = "cursors"
	// CapIgnorable: frames flagged FlagIgnorable may be skipped.
	CapIgnorable = "ignorable"
	// CapOffline: EVENT offline (no operator available; the customer
	// leaves a message) and ASSIGNED's LeftMessage.
	CapOffline = "offline"
	// CapElsewhere: EVENT elsewhere (the conversation was resumed on
	// another device).
	CapElsewhere = "elsewhere"
	// CapWait: EVENT queued carries the expected wait.
	CapWait = "wait"
	// CapVerified: ASSIGNED carries Verified.
	CapVerified = "verified"
	// CapMail: TRANSCRIPT with FormatMail and EVENT mailed. A server
	// shares it only when it mails transcripts (Server.MailTranscript).
	CapMail = "mail"
)

// Caps lists the capabilities of this package, for HELLO.Caps.
func Caps() []string {
	return []string{CapCursors, CapIgnorable, CapOffline, CapElsewhere, CapWait, CapVerified, CapMail}
}

const (
	maxCaps   = 32
	maxCapLen = 32
)

// sharedCaps are the capabilities of client that this server has too.
func (s *Server) sharedCaps(client []string) []string {
	var out []string
	for _, c := range Caps() {
		if c == CapMail && s.MailTranscript == nil {
			continue
		}
		if slices.Contains(client, c) {
			out = append(out, c)
		}
	}
	return out
}

// has reports whether the connection agreed on capability cap.
func (c *conn) has(cap string) bool { return slices.Contains(c.caps, cap) }

// Offers reports whether the server shared capability cap in its last
// WELCOME (e.g. CapMail: transcripts by e-mail).
func (c *Client) Offers(cap string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.welcome.Caps, cap)
}
