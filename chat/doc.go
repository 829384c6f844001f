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
package chat
