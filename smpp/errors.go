package smpp

import (
	"errors"
	"fmt"

	"github.com/switchboard-go/switchboard/smpp/pdu"
)

// Sentinel errors. Test for them with errors.Is.
var (
	// ErrClosed: the session is closed (by Close, Unbind, the peer, or a
	// failed connection).
	ErrClosed = errors.New("smpp: session closed")
	// ErrTimeout: no response came within the response timeout. The
	// request may have been processed by the peer.
	ErrTimeout = errors.New("smpp: response timeout")
)

// StatusError is re-exported from pdu: a peer's refusal (non-zero
// command_status) of a request.
type StatusError = pdu.StatusError

// SendError is the failure of a request whose session ended before its
// response arrived. MayHaveReached tells whether the request was handed to
// the connection: if it was, the peer may have processed it, and resending
// it may duplicate it.
type SendError struct {
	Err            error
	MayHaveReached bool
}

func (e *SendError) Error() string {
	if e.MayHaveReached {
		return fmt.Sprintf("smpp: request may have reached the peer: %v", e.Err)
	}
	return fmt.Sprintf("smpp: request not sent: %v", e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// ResponseError is an answer to a request that breaks the protocol: a
// response of another command (a deliver_sm_resp to a submit_sm), a
// generic_nack with status 0, or a response that could not be decoded
// (Err is then the *pdu.DecodeError). The request reached the peer:
// resending it may duplicate it.
type ResponseError struct {
	Request pdu.CommandID // what was asked
	Got     pdu.CommandID // what came back (0 if unknown)
	Err     error         // the decoding error, if any
}

func (e *ResponseError) Error() string {
	switch {
	case e.Err != nil:
		return fmt.Sprintf("smpp: %s reached the peer; its answer is malformed: %v", e.Request, e.Err)
	case e.Got == pdu.GenericNackID:
		return fmt.Sprintf("smpp: %s answered with generic_nack of status 0", e.Request)
	}
	return fmt.Sprintf("smpp: %s answered with %s", e.Request, e.Got)
}

func (e *ResponseError) Unwrap() error { return e.Err }

// SafeToRetry reports whether err says that the request certainly never
// reached the peer, so that sending it again cannot duplicate it.
func SafeToRetry(err error) bool {
	var se *SendError
	if errors.As(err, &se) {
		return !se.MayHaveReached
	}
	return false
}

// MayHaveReached reports whether err leaves open that the peer processed
// the request: no response in time, a session that ended after the
// request was handed to the connection, or an answer that broke the
// protocol. Resending such a request may duplicate it.
func MayHaveReached(err error) bool {
	var se *SendError
	var re *ResponseError
	return errors.Is(err, ErrTimeout) || errors.As(err, &se) && se.MayHaveReached || errors.As(err, &re)
}

// Temporary reports whether err is a peer's refusal worth retrying later
// (ESME_RTHROTTLED, ESME_RMSGQFUL, ESME_RSYSERR, ...): the request did
// not reach its destination, and the same request may succeed later.
func Temporary(err error) bool {
	var st *StatusError
	return errors.As(err, &st) && st.Temporary()
}

// Throttling reports whether err is the peer's refusal for overload as a
// whole (ESME_RTHROTTLED, ESME_RMSGQFUL): the client pauses every
// request after one, and Submit retries it. A refusal of one request for
// a reason of its own (ESME_RSYSERR, 0xFE delivery failure, ...) is
// Temporary but not Throttling: it neither pauses the client nor is
// retried by Submit.
func Throttling(err error) bool {
	var st *StatusError
	return errors.As(err, &st) && st.Status.Throttling()
}
