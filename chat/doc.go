// Package chat is a framed TCP chat protocol for customer service:
// customers connect and are identified, wait in a queue, and are routed
// to operators who serve several at once; every message is stored, with
// per-conversation sequence numbers, and a client that reconnects resumes
// where it left off.
//
// # Protocol
//
// Frames have an 8-octet header (version, type, flags, reserved, payload
// length) and a payload of typed fields; see PROTOCOL.md in this
// directory. [FrameReader] reads frames within a size limit;
// [AppendMessage] writes them; [Decode] turns a frame into its typed
// [Message]. Malformed input is a [*FrameError] (the stream is broken) or
// a [*DecodeError] (one bad payload), never a panic.
//
// # Server
//
// [Server] follows net/http: set its fields, call [Server.Serve] with a
// listener, stop with [Server.Shutdown] (clients are told why) or
// [Server.Close]. It needs a store.ChatStore; with a store that runs
// transactions (store.Store), messages are group-committed and every ACK
// means the message is durable. Operators log in through a [Directory]
// ([StoreDirectory] over the store's accounts, or [StaticDirectory]);
// customers identify themselves or bring a token signed with
// [SignCustomer] (their conversation is then Verified). See the Server
// fields for the limits (connections, frame size, outbound queue,
// heartbeat, message rate, files, [PerIPLimits]), [BusinessHours] and
// messages left while nobody can answer (Server.LeaveMessages,
// Server.OnLeftMessage), and [ConversationEvent] (Server.OnEvent).
//
// # Guarantees
//
// Every message a client is acknowledged for reaches every participant of
// its conversation exactly once and in sequence order, across any number
// of reconnects of either side; an ACK means the message is stored (with
// a transactional store, committed); a client that does not read is cut
// off with a reason without slowing the others; what one client address
// can hold is bounded (connections, handshakes, conversations, upload
// memory); a server that runs out of file descriptors serves again once
// they free up. Package chattest has the tools these are tested with
// (chattest.Torture, chattest.FailCommits).
//
// # Client
//
// [Dial] connects as a customer or an operator and performs the
// handshake. [Client.Send] and [Client.SendTo] wait for the ACK; with
// ClientOptions.Reconnect the client resumes after a lost connection
// without losing or repeating messages: it hands each message of its
// conversations to ClientOptions.Handler once, in sequence order (its
// own SENDs are answered by their ACK instead), and asks for any gap.
// Everything else the server sends goes to the Handler too, in order.
//
// # Testing
//
// Package chat/chattest runs a server on a loopback port with an
// in-memory store.
package chat
