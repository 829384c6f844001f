package chat

import "fmt"

// ErrorCode classifies an ERROR frame.
type ErrorCode uint16

// Error codes.
const (
	CodeBadFrame      ErrorCode = 1  // malformed frame or payload; the connection closes
	CodeBadVersion    ErrorCode = 2  // unsupported protocol version
	CodeUnexpected    ErrorCode = 3  // a frame not allowed now (e.g. SEND before HELLO)
	CodeAuthFailed    ErrorCode = 4  // wrong credentials or token
	CodeRateLimited   ErrorCode = 5  // too many attempts or messages; retry later
	CodeNotFound      ErrorCode = 6  // no such conversation, attachment or operator
	CodeForbidden     ErrorCode = 7  // not a participant, or not allowed for the role
	CodeConflict      ErrorCode = 8  // e.g. the conversation is closed or already taken
	CodeTooLarge      ErrorCode = 9  // a file over the limits
	CodeMediaType     ErrorCode = 10 // a file type not allowed
	CodeChecksum      ErrorCode = 11 // a file whose size or SHA-256 does not match
	CodeSlowConsumer  ErrorCode = 12 // the client reads too slowly; the connection closes
	CodeShuttingDown  ErrorCode = 13 // the server stops; reconnect later
	CodeInsecure      ErrorCode = 14 // operator password over plain TCP refused
	CodeResumeExpired ErrorCode = 15 // the resume token is unknown or expired
	CodeInternal      ErrorCode = 16 // the server failed (e.g. its store); retry later
	CodeTooManyConns  ErrorCode = 17 // the server is full
	CodeHeartbeatLost ErrorCode = 18 // no frame within the heartbeat timeout
	CodeTimeout       ErrorCode = 19 // a request not completed in time (an upload without chunks)
	CodeUnsupported   ErrorCode = 20 // a frame type this peer does not know (see FlagIgnorable)
)

var codeNames = map[ErrorCode]string{
	CodeBadFrame: "bad frame", CodeBadVersion: "bad version", CodeUnexpected: "unexpected frame",
	CodeAuthFailed: "authentication failed", CodeRateLimited: "rate limited", CodeNotFound: "not found",
	CodeForbidden: "forbidden", CodeConflict: "conflict", CodeTooLarge: "too large", CodeMediaType: "media type not allowed",
	CodeChecksum: "checksum mismatch", CodeSlowConsumer: "slow consumer", CodeShuttingDown: "shutting down",
	CodeInsecure: "insecure transport", CodeResumeExpired: "resume expired", CodeInternal: "internal error",
	CodeTooManyConns: "too many connections", CodeHeartbeatLost: "heartbeat lost", CodeTimeout: "timeout",
	CodeUnsupported: "unsupported",
}

func (c ErrorCode) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("code %d", uint16(c))
}

// Error makes an ERROR frame a Go error: a refusal from the peer.
func (m *Error) Error() string {
	if m.Text == "" {
		return "chat: " + m.Code.String()
	}
	return fmt.Sprintf("chat: %s: %s", m.Code, m.Text)
}
