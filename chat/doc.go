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
// [SignCustomer]. See the Server fields for the limits (connections,
// frame size, outbound queue, heartbeat, message rate, files).
//
// # Client
//
// [Dial] connects as a customer or an operator and performs the
// handshake. [Client.Send] and [Client.SendTo] wait for the ACK; with
// ClientOptions.Reconnect the client resumes after a lost connection
// without losing or repeating messages. Everything else the server sends
// goes to ClientOptions.Handler, in order.
//
// # Testing
//
// Package chat/chattest runs a server on a loopback port with an
// in-memory store.
package chat
