// Package smpp is SMPP 3.4 / 5.0 sessions built on smpp/pdu: an ESME
// client with a real request window, pipelined submits, batched writes,
// keepalive, throttling and reconnects, and an SMSC-side Server on the
// same session engine.
//
// # Sessions
//
// [Dial] connects and binds (transceiver by default; transmitter,
// receiver, or a transmitter and a receiver session by Options.Mode). An
// SMSC that answers bind_transceiver with ESME_RINVCMDID (SMPP 3.3) gets
// a transmitter+receiver pair, and the reverse. Each session follows the
// bind state machine ([State]): a request the state does not allow is not
// sent (ErrState), and the SMSC's requests the state does not allow are
// answered with ESME_RINVBNDSTS. A [Client] is safe for concurrent use.
//
//	c, err := smpp.Dial(ctx, "smsc.example:2775", &smpp.Options{SystemID: "acme", Password: "secret"})
//	id, err := c.Submit(ctx, &pdu.SubmitSM{DestinationAddr: "584121234567", ShortMessage: []byte("hello")})
//
// # Window
//
// At most Options.WindowSize requests are outstanding. A request takes its
// window slot before it is written and gives it back on its response, its
// response timeout, or the end of the session; a full window makes the
// sender wait under its context, it never drops or fails fast. Sequence
// numbers are per session, 1..0x7FFFFFFF, wrapping, never 0; responses are
// matched by sequence number. A request whose response does not come
// within the response timeout fails with ErrTimeout and frees its slot. A
// request that makes a message (submit_sm, data_sm, submit_multi) fails
// with a [*TimeoutError] (errors.Is ErrTimeout), and the session keeps it
// (up to four windows of them still waiting) for the answer that may
// still come: [TimeoutError.WaitLate] returns that answer, or says the
// session ended first, so that a slow SMSC's messages need not be sent
// twice. Late responses are counted (Stats.LateResponses); one nobody
// waits for is dropped.
//
// [Client.SubmitAsync] and [Client.Send] return a [Call] to wait on, which
// is how to keep the window full from one goroutine. Everything queued is
// written with one system call (Stats.Flushes counts them).
//
// # Failures
//
// A peer's refusal is a [*StatusError]. [Temporary] tells refusals that
// may clear by themselves (the request may be sent again later) from
// permanent ones; [Throttling] tells the two that concern the whole link
// (ESME_RTHROTTLED, ESME_RMSGQFUL), which pause every request. When the session ends with requests outstanding,
// they fail with a [*SendError] whose MayHaveReached says whether the
// peer may have received them; [SafeToRetry] is true only when it cannot
// have.
//
// # Throttling
//
// A temporary refusal (ESME_RTHROTTLED, ESME_RMSGQFUL) makes the whole
// client pause before its next request, exponentially longer while
// refusals continue (Options.Retry), and [Client.Submit] retries it.
// Options.RateLimiter (golang.org/x/time/rate fits) paces requests to an
// agreed TPS.
//
// # Staying bound
//
// [Supervise] keeps a client bound: when the session ends (dropped
// connection, failed keepalive, the SMSC's unbind) it redials and rebinds
// with exponential backoff and jitter, reporting every [ConnState] to
// SupervisorOptions.OnState. [Supervisor.Submit] waits for a bound client
// and resends a submit_sm only when it certainly never reached the SMSC.
//
// # Closing
//
// [Client.Unbind] waits for outstanding requests, unbinds and closes;
// [Client.Close] closes at once. Both free every goroutine.
//
// # Inbound messages
//
// Options.Handler receives what the SMSC sends as whole [Message]s: a long
// deliver_sm or data_sm is reassembled from its parts (UDH or SAR) first,
// its text decoded; delivery receipts come parsed; alert_notification
// too. The handler's status answers the PDU.
//
// # Server
//
// [Server] is the SMSC side, in net/http's style: Serve(listener),
// Shutdown(ctx) unbinds every session, Close, [ErrServerClosed]. Binds go
// through Authenticate; requests through a [ServerHandler] (by default
// submit_sm and data_sm get sequential message ids); requests the bind
// state does not allow are refused with ESME_RINVBNDSTS; a per-session
// TPS limit is answered with ESME_RTHROTTLED; [ServerSession.Deliver]
// sends deliver_sm through the session's window. A handler that needs I/O
// or time returns nil and answers later with [ServerSession.Respond], so
// the session keeps reading. Server.EnquireLink keeps bound sessions
// alive; Server.BindTimeout drops connections that never bind.
//
// # Outbind
//
// [Server.Outbind] sends an outbind over a connection to an ESME and
// returns the session once the ESME has bound; [AcceptOutbind] is the
// ESME's side.
//
// # Testing
//
// Package smpp/smpptest runs an SMSC simulator on a loopback port, with
// receipts, MO messages, throttling, latency and faults.
package smpp
