// switchboard-chat.js: a dependency-free browser client of the switchboard
// chat protocol (chat/PROTOCOL.md) over WebSocket (package chatws).
//
//   const chat = new SwitchboardChat({url: "wss://example.com/chat/ws", name: "Ana", email: "ana@example.com",
//     onPost: p => show(p), onEvent: e => status(e)});
//   await chat.connect();
//   await chat.send("Hello");
//
// The client keeps the promise of the TCP client: every message of a
// conversation is given to onPost once, in sequence order, across any number
// of dropped connections (it reconnects, resumes and fills gaps), and a
// message sent is stored once however often the connection drops (it is
// sent again under the same id until its ACK comes).
(function (global) {
  "use strict";

  const VERSION = 1;
  const FLAG_FINAL = 1, FLAG_IGNORABLE = 2;
  const T = {HELLO: 0x01, WELCOME: 0x02, ERROR: 0x03, PING: 0x04, PONG: 0x05, BYE: 0x06, SEND: 0x10, ACK: 0x11,
    POST: 0x12, TYPING: 0x13, READ: 0x14, EVENT: 0x15, HISTORY: 0x16, ACCEPT: 0x20, TRANSFER: 0x21, CLOSE: 0x22,
    PRESENCE: 0x23, QUEUE: 0x24, ASSIGNED: 0x25, FILE_START: 0x30, FILE_CHUNK: 0x31, FILE_END: 0x32, FETCH: 0x33,
    TRANSCRIPT: 0x40};
  const NAMES = {};
  for (const k in T) NAMES[T[k]] = k;

  // Field lists, in wire order, as chat/messages.go writes them. Kinds: u8,
  // uv (unsigned varint), str, bytes, bool, time (ms since the epoch, 0: none),
  // strs (count and strings), cursors, entries (QUEUE). An "opt" group is
  // written only when one of its fields is set and read only when present.
  const SCHEMA = {
    [T.HELLO]: [["role", "u8"], ["name", "str"], ["customerId", "str"], ["email", "str"], ["token", "str"],
      ["login", "str"], ["password", "str"], ["resume", "str"], ["lastSeq", "uv"], ["client", "str"],
      ["opt", [["cursors", "cursors"], ["caps", "strs"], ["device", "str"]]]],
    [T.WELCOME]: [["session", "str"], ["resume", "str"], ["conversationId", "uv"], ["operatorId", "str"],
      ["maxFrame", "uv"], ["heartbeat", "uv"], ["server", "str"],
      ["opt", [["version", "uv"], ["caps", "strs"], ["presence", "u8"], ["device", "str"]]]],
    [T.ERROR]: [["code", "uv"], ["text", "str"], ["conversationId", "uv"], ["clientMsgId", "str"]],
    [T.PING]: [["nonce", "uv"]],
    [T.PONG]: [["nonce", "uv"]],
    [T.BYE]: [["reason", "str"]],
    [T.SEND]: [["conversationId", "uv"], ["clientMsgId", "str"], ["text", "str"]],
    [T.ACK]: [["conversationId", "uv"], ["clientMsgId", "str"], ["seq", "uv"], ["time", "time"]],
    [T.POST]: [["conversationId", "uv"], ["seq", "uv"], ["senderRole", "u8"], ["senderId", "str"],
      ["senderName", "str"], ["kind", "u8"], ["text", "str"], ["clientMsgId", "str"], ["attachmentId", "uv"],
      ["fileName", "str"], ["mediaType", "str"], ["size", "uv"], ["time", "time"]],
    [T.TYPING]: [["conversationId", "uv"], ["on", "bool"], ["role", "u8"]],
    [T.READ]: [["conversationId", "uv"], ["seq", "uv"], ["role", "u8"]],
    [T.EVENT]: [["conversationId", "uv"], ["kind", "u8"], ["position", "uv"], ["operatorId", "str"],
      ["operatorName", "str"], ["text", "str"], ["time", "time"], ["opt", [["wait", "uv"]]]],
    [T.HISTORY]: [["conversationId", "uv"], ["afterSeq", "uv"]],
    [T.ACCEPT]: [["conversationId", "uv"]],
    [T.TRANSFER]: [["conversationId", "uv"], ["to", "str"]],
    [T.CLOSE]: [["conversationId", "uv"]],
    [T.PRESENCE]: [["state", "u8"]],
    [T.QUEUE]: [["total", "uv"], ["entries", "entries"]],
    [T.ASSIGNED]: [["conversationId", "uv"], ["customerName", "str"], ["customerId", "str"], ["email", "str"],
      ["lastSeq", "uv"], ["openedAt", "time"], ["opt", [["verified", "bool"], ["leftMessage", "bool"]]]],
    [T.FILE_START]: [["conversationId", "uv"], ["transferId", "uv"], ["name", "str"], ["mediaType", "str"],
      ["size", "uv"], ["sha256", "bytes"], ["clientMsgId", "str"]],
    [T.FILE_CHUNK]: [["transferId", "uv"], ["data", "bytes"]],
    [T.FILE_END]: [["transferId", "uv"]],
    [T.FETCH]: [["attachmentId", "uv"], ["transferId", "uv"]],
    [T.TRANSCRIPT]: [["conversationId", "uv"], ["format", "u8"], ["transferId", "uv"]],
  };

  const utf8 = new TextEncoder(), utf8d = new TextDecoder("utf-8", {fatal: true});

  class Writer {
    constructor() { this.b = new Uint8Array(64); this.n = 0; }
    grow(k) {
      if (this.n + k <= this.b.length) return;
      const nb = new Uint8Array(Math.max(this.b.length * 2, this.n + k));
      nb.set(this.b.subarray(0, this.n)); this.b = nb;
    }
    u8(v) { this.grow(1); this.b[this.n++] = v & 0xff; }
    uv(v) {
      v = Math.max(0, Math.floor(Number(v) || 0));
      this.grow(10);
      while (v >= 0x80) { this.b[this.n++] = (v % 0x80) | 0x80; v = Math.floor(v / 0x80); }
      this.b[this.n++] = v;
    }
    bytes(p) { p = p || new Uint8Array(0); this.uv(p.length); this.grow(p.length); this.b.set(p, this.n); this.n += p.length; }
    str(s) { this.bytes(utf8.encode(s || "")); }
    bool(v) { this.u8(v ? 1 : 0); }
    time(v) { this.uv(v instanceof Date ? v.getTime() : (v || 0)); }
    strs(a) { a = a || []; this.uv(a.length); for (const s of a) this.str(s); }
    cursors(a) { a = a || []; this.uv(a.length); for (const c of a) { this.uv(c.conversationId); this.uv(c.lastSeq); } }
    entries(a) { a = a || []; this.uv(a.length); for (const e of a) { this.uv(e.conversationId); this.str(e.customerName); this.time(e.since); } }
    done() { return this.b.subarray(0, this.n); }
  }

  class ProtocolError extends Error {}

  class Reader {
    constructor(b) { this.b = b; this.i = 0; }
    more() { return this.i < this.b.length; }
    need(k) { if (this.i + k > this.b.length) throw new ProtocolError("short payload"); }
    u8() { this.need(1); return this.b[this.i++]; }
    uv() {
      let v = 0, mul = 1;
      for (let k = 0; k < 10; k++) {
        const c = this.u8();
        v += (c & 0x7f) * mul;
        if (c < 0x80) {
          if (v > Number.MAX_SAFE_INTEGER) throw new ProtocolError("varint out of range");
          return v;
        }
        mul *= 0x80;
      }
      throw new ProtocolError("bad varint");
    }
    bytes() { const k = this.uv(); this.need(k); const p = this.b.slice(this.i, this.i + k); this.i += k; return p; }
    str() { return utf8d.decode(this.bytes()); }
    bool() { const v = this.u8(); if (v > 1) throw new ProtocolError("bad bool"); return v === 1; }
    time() { const ms = this.uv(); return ms === 0 ? null : new Date(ms); }
    strs() { const k = this.uv(); if (k > 64) throw new ProtocolError("too many strings"); const a = []; for (let j = 0; j < k; j++) a.push(this.str()); return a; }
    cursors() { const k = this.uv(); if (k > 1000) throw new ProtocolError("too many cursors"); const a = []; for (let j = 0; j < k; j++) a.push({conversationId: this.uv(), lastSeq: this.uv()}); return a; }
    entries() { const k = this.uv(); if (k > 500) throw new ProtocolError("too many entries"); const a = []; for (let j = 0; j < k; j++) a.push({conversationId: this.uv(), customerName: this.str(), since: this.time()}); return a; }
  }

  function isSet(v) {
    if (Array.isArray(v)) return v.length > 0;
    return !!v;
  }

  // encode returns the frame of message m ({type: T.X, ...fields}).
  function encode(m) {
    const fields = SCHEMA[m.type];
    if (!fields) throw new ProtocolError("unknown type " + m.type);
    const w = new Writer();
    for (let j = 0; j < 8; j++) w.u8(0);
    for (const [name, kind] of fields) {
      if (name === "opt") {
        if (kind.some(([n]) => isSet(m[n]))) for (const [n, k] of kind) w[k](m[n]);
      } else {
        w[kind](m[name]);
      }
    }
    const b = w.done(), len = b.length - 8;
    b[0] = VERSION; b[1] = m.type; b[2] = m.flags || 0; b[3] = 0;
    b[4] = len >>> 24; b[5] = (len >>> 16) & 0xff; b[6] = (len >>> 8) & 0xff; b[7] = len & 0xff;
    return b;
  }

  // decode reads one frame's payload of type t; null for a type this
  // client does not know.
  function decode(t, flags, payload) {
    const fields = SCHEMA[t];
    if (!fields) return null;
    const r = new Reader(payload), m = {type: t, name: NAMES[t], flags: flags};
    for (const [name, kind] of fields) {
      if (name === "opt") {
        if (r.more()) for (const [n, k] of kind) m[n] = r[k]();
      } else {
        m[name] = r[kind]();
      }
    }
    return m;
  }

  // Framer splits a byte stream into frames. append adds bytes; next
  // returns the next whole frame, or null, checking its length against
  // max as it is then (a WELCOME raises it for the frames after it, even
  // those that came in the same message). It copies each byte once.
  class Framer {
    constructor(max) { this.buf = new Uint8Array(0); this.off = 0; this.max = max; }
    append(chunk) {
      const rest = this.buf.length - this.off;
      if (rest === 0) { this.buf = chunk; this.off = 0; return; }
      const nb = new Uint8Array(rest + chunk.length);
      nb.set(this.buf.subarray(this.off)); nb.set(chunk, rest);
      this.buf = nb; this.off = 0;
    }
    next() {
      const b = this.buf, i = this.off;
      if (b.length - i < 8) return null;
      const len = ((b[i + 4] << 24) >>> 0) + (b[i + 5] << 16) + (b[i + 6] << 8) + b[i + 7];
      if (len > this.max) throw new ProtocolError("frame of " + len + " bytes over the limit");
      if (b.length - i < 8 + len) return null;
      this.off = i + 8 + len;
      return {version: b[i], type: b[i + 1], flags: b[i + 2], payload: b.slice(i + 8, i + 8 + len)};
    }
    // push appends chunk and returns the whole frames now in the buffer.
    push(chunk) {
      this.append(chunk);
      const out = [];
      for (let f; (f = this.next()) !== null;) out.push(f);
      return out;
    }
  }

  const ROLE = {customer: 1, operator: 2, system: 3};
  const EVENT = {queued: 1, assigned: 2, transferred: 3, closed: 4, away: 5, back: 6, offline: 7, elsewhere: 8, mailed: 9};
  // Refusals that reconnecting cannot help: bad version, authentication
  // failed, insecure transport, resume expired.
  const FATAL = new Set([2, 4, 14, 15]);
  const CAPS = ["cursors", "ignorable", "offline", "elsewhere", "wait", "verified", "mail"];

  function randomId() {
    const b = new Uint8Array(12);
    (global.crypto || {}).getRandomValues ? global.crypto.getRandomValues(b) : b.forEach((_, i) => { b[i] = Math.random() * 256; });
    return Array.from(b, x => x.toString(16).padStart(2, "0")).join("");
  }

  // Conversation state: the next seq to hand over, seqs acknowledged to
  // this client's own SENDs, and POSTs held above a gap.
  class ConvState {
    constructor() { this.next = 1; this.own = new Set(); this.ahead = new Map(); this.askedAt = 0; this.serving = false; }
    seen(seq) { return seq < this.next || this.own.has(seq); }
    advance(ready) {
      for (;;) {
        if (this.own.delete(this.next)) { this.next++; continue; }
        const p = this.ahead.get(this.next);
        if (p) { this.ahead.delete(this.next); ready.push(p); this.next++; continue; }
        return ready;
      }
    }
    ownSeq(seq) {
      if (seq < this.next) return [];
      if (seq === this.next) { this.next++; return this.advance([]); }
      this.own.add(seq); return [];
    }
    post(p, now) {
      if (this.seen(p.seq)) return {ready: [], ask: -1};
      if (p.seq === this.next) { this.next++; return {ready: this.advance([p]), ask: -1}; }
      if (this.ahead.size < 4096) this.ahead.set(p.seq, p);
      if (now - this.askedAt < 5000) return {ready: [], ask: -1};
      this.askedAt = now;
      return {ready: [], ask: this.next - 1};
    }
  }

  class SwitchboardChat {
    // opts: url (ws:// or wss://), role ("customer" or "operator"), name,
    // email, customerId, token (a site-signed customer token), login,
    // password, device, resume (the resume token of an earlier WELCOME, to
    // take a conversation up again after a page reload: every message of
    // it comes again), client (software name), reconnect (default true),
    // maxReconnectDelay (ms, default 30000), and handlers: onPost(post),
    // onEvent(event), onTyping(t), onRead(r), onQueue(q), onAssigned(a),
    // onError(err), onState("connecting"|"open"|"closed", detail),
    // onMessage(m) (every other frame), WebSocket (a constructor, for tests).
    constructor(opts) {
      this.o = Object.assign({role: "customer", reconnect: true, maxReconnectDelay: 30000}, opts || {});
      this.welcome = null;
      this.convs = new Map();
      this.sends = new Map(); // clientMsgId -> {frame, conv, resolve, reject}
      this.waits = [];        // {match, resolve, reject}
      this.ws = null;
      this.closed = false;
      this.delay = 250;
      this.maxFrame = 16 << 10;
      this.nextTransfer = 0;
      this.downloads = new Map(); // transferId -> {start, parts, resolve, reject}
    }

    get conversationId() { return this.welcome ? this.welcome.conversationId : 0; }
    get operatorId() { return this.welcome ? this.welcome.operatorId : ""; }

    state(id) {
      let st = this.convs.get(id);
      if (!st) { st = new ConvState(); this.convs.set(id, st); }
      return st;
    }

    emit(name, ...args) { const h = this.o[name]; if (typeof h === "function") { try { h(...args); } catch (e) { setTimeout(() => { throw e; }); } } }

    // connect opens the connection and resolves with the WELCOME; it
    // rejects with the server's refusal (an Error with .code) or a network
    // error. With reconnect, a lost connection is opened again by itself.
    connect() {
      return new Promise((resolve, reject) => this.open(resolve, reject));
    }

    open(resolve, reject) {
      if (this.closed) { reject(new Error("closed")); return; }
      this.emit("onState", "connecting");
      const WS = this.o.WebSocket || global.WebSocket;
      let ws;
      try { ws = new WS(this.o.url, "switchboard.chat.v1"); } catch (e) { reject(e); if (this.welcome) this.lost(e, false); return; }
      ws.binaryType = "arraybuffer";
      this.ws = ws;
      const framer = new Framer(16 << 10);
      let welcomed = false, settled = false;
      const fail = err => { if (!settled) { settled = true; reject(err); } };
      ws.onopen = () => {
        const h = {type: T.HELLO, role: ROLE[this.o.role] || 1, name: this.o.name, customerId: this.o.customerId,
          email: this.o.email, token: this.o.token, login: this.o.login, password: this.o.password,
          client: this.o.client || "switchboard-chat.js/1", caps: CAPS};
        if (this.welcome && this.welcome.resume) {
          h.resume = this.welcome.resume;
          h.lastSeq = this.state(this.welcome.conversationId).next - 1;
        } else if (this.o.resume) { // a page reloaded: the whole conversation comes again
          h.resume = this.o.resume;
        }
        if (h.role === ROLE.operator) {
          h.cursors = [];
          for (const [id, st] of this.convs) if (st.serving) h.cursors.push({conversationId: id, lastSeq: st.next - 1});
          h.device = (this.welcome && this.welcome.device) || this.o.device;
        }
        for (const st of this.convs.values()) { st.ahead.clear(); st.askedAt = 0; }
        ws.send(encode(h));
      };
      ws.onmessage = ev => {
        framer.append(new Uint8Array(ev.data));
        for (;;) {
          let f, m;
          try {
            if ((f = framer.next()) === null) return;
            m = decode(f.type, f.flags, f.payload);
          } catch (e) { this.protocolError(ws, e); return; }
          if (!m) continue; // a later version's frame
          if (!welcomed) {
            if (m.type === T.PING) { ws.send(encode({type: T.PONG, nonce: m.nonce})); continue; }
            if (m.type !== T.WELCOME) {
              const err = m.type === T.ERROR ? this.errorOf(m) : new ProtocolError("expected WELCOME, got " + m.name);
              ws.close(); fail(err); return;
            }
            welcomed = true;
            this.welcome = m; this.openedAt = Date.now();
            framer.max = m.maxFrame || (64 << 10);
            this.emit("onState", "open", m);
            for (const p of this.sends.values()) if (p.frame) ws.send(p.frame); // stored once by the server
            settled = true; resolve(m);
            continue;
          }
          if (m.type === T.ERROR && (m.flags & FLAG_FINAL)) { this.finalError = this.errorOf(m); ws.close(); return; }
          this.dispatch(m);
        }
      };
      ws.onclose = ev => {
        if (this.ws === ws) this.ws = null;
        const err = this.finalError || new Error("connection closed (" + ev.code + ")");
        this.finalError = null;
        if (!welcomed) { fail(err); }
        this.lost(err, welcomed);
      };
      ws.onerror = () => {};
    }

    errorOf(m) {
      const e = new Error(m.text); e.code = m.code; e.conversationId = m.conversationId; e.clientMsgId = m.clientMsgId;
      return e;
    }

    protocolError(ws, e) { this.finalError = e; ws.close(); }

    // lost follows a connection that ended (or never opened): reconnect
    // after a delay growing to maxReconnectDelay, unless the client was
    // closed, the refusal is fatal, or it never had a WELCOME (connect's
    // promise rejected then).
    lost(err, wasOpen) {
      this.emit("onState", "closed", err);
      for (const w of this.waits.splice(0)) w.reject(err);
      for (const d of this.downloads.values()) d.reject(err);
      this.downloads.clear();
      for (const [id, p] of this.sends) if (p.ws) { this.sends.delete(id); p.reject(err); } // uploads start again from the caller
      if (this.closed || !this.welcome) return;
      if (!this.o.reconnect || (err.code && FATAL.has(err.code))) { this.end(err); return; }
      // A connection that worked for a while is tried again at once; one
      // that failed fast (a refusal, a frame that cannot be read) waits,
      // longer each time, so that a fault does not become a storm.
      const lived = wasOpen && Date.now() - this.openedAt > 5000;
      if (lived) this.delay = 250;
      const d = lived ? 0 : Math.min(this.delay, this.o.maxReconnectDelay);
      this.delay = Math.min(this.delay * 2, this.o.maxReconnectDelay);
      setTimeout(() => this.open(() => {}, () => {}), d);
    }

    end(err) {
      this.closed = true;
      for (const p of this.sends.values()) p.reject(err);
      this.sends.clear();
      this.emit("onError", err);
    }

    dispatch(m) {
      switch (m.type) {
        case T.PING: this.write({type: T.PONG, nonce: m.nonce}); return;
        case T.PONG: return;
        case T.POST: {
          const st = this.state(m.conversationId);
          const p = m.clientMsgId ? this.sends.get(m.clientMsgId) : null;
          if (p && p.conv === m.conversationId && m.senderRole === (ROLE[this.o.role] || 1) && !st.seen(m.seq)) {
            this.sends.delete(m.clientMsgId);
            const ready = st.ownSeq(m.seq);
            p.resolve({type: T.ACK, conversationId: m.conversationId, clientMsgId: m.clientMsgId, seq: m.seq, time: m.time});
            for (const r of ready) this.emit("onPost", r);
            return;
          }
          const {ready, ask} = st.post(m, Date.now());
          if (ask >= 0) this.write({type: T.HISTORY, conversationId: m.conversationId, afterSeq: ask});
          for (const r of ready) this.emit("onPost", r);
          return;
        }
        case T.ACK: {
          const st = this.state(m.conversationId);
          const ready = st.ownSeq(m.seq);
          const p = this.sends.get(m.clientMsgId);
          this.sends.delete(m.clientMsgId);
          for (const r of ready) this.emit("onPost", r);
          if (p) p.resolve(m);
          return;
        }
        case T.ERROR: {
          for (const [id, d] of this.downloads) {
            if (d.matchError(m)) { this.downloads.delete(id); d.reject(this.errorOf(m)); return; }
          }
          const p = m.clientMsgId ? this.sends.get(m.clientMsgId) : null;
          if (p) { this.sends.delete(m.clientMsgId); p.reject(this.errorOf(m)); return; }
          break;
        }
        case T.FILE_START: case T.FILE_CHUNK: case T.FILE_END: {
          const d = this.downloads.get(m.transferId);
          if (!d) break;
          if (m.type === T.FILE_START) d.start = m;
          else if (m.type === T.FILE_CHUNK) d.parts.push(m.data);
          else { this.downloads.delete(m.transferId); this.finishDownload(d); }
          return;
        }
        case T.ASSIGNED: this.state(m.conversationId).serving = true; break;
        case T.EVENT: {
          const st = this.convs.get(m.conversationId);
          if (st && m.kind === EVENT.closed && m.conversationId !== this.conversationId) this.convs.delete(m.conversationId);
          else if (st && m.kind === EVENT.closed) st.serving = false;
          else if (st && m.kind === EVENT.transferred && m.operatorId !== this.operatorId) st.serving = false;
          break;
        }
      }
      for (let j = 0; j < this.waits.length; j++) {
        if (this.waits[j].match(m)) {
          const w = this.waits.splice(j, 1)[0];
          if (m.type === T.ERROR) { w.reject(this.errorOf(m)); return; }
          w.resolve(m);
          break;
        }
      }
      const handler = {[T.EVENT]: "onEvent", [T.TYPING]: "onTyping", [T.READ]: "onRead", [T.QUEUE]: "onQueue",
        [T.ASSIGNED]: "onAssigned", [T.ERROR]: "onError"}[m.type] || "onMessage";
      this.emit(handler, m);
    }

    write(m) {
      if (!this.ws || this.ws.readyState !== 1) return false;
      this.ws.send(encode(m));
      return true;
    }

    // send stores text in a conversation (a customer's own by default) and
    // resolves with its ACK ({seq, time}); across reconnects it is sent
    // again under the same id, and stored once.
    send(text, conversationId) {
      const conv = conversationId || 0;
      const id = randomId();
      return new Promise((resolve, reject) => {
        if (this.closed) { reject(new Error("closed")); return; }
        const frame = encode({type: T.SEND, conversationId: conv, clientMsgId: id, text: text});
        this.sends.set(id, {frame, conv: conv || this.conversationId, resolve, reject});
        if (this.ws && this.ws.readyState === 1) this.ws.send(frame);
      });
    }

    // sendFile uploads a File or Blob (an image, a document) to a
    // conversation and resolves with its ACK. A connection lost during
    // the upload rejects it: call again (the server keeps nothing of it).
    async sendFile(file, conversationId, name) {
      const data = new Uint8Array(await file.arrayBuffer());
      const sha = new Uint8Array(await global.crypto.subtle.digest("SHA-256", data));
      const conv = conversationId || 0, id = randomId(), transferId = ++this.nextTransfer;
      const ws = this.ws;
      if (!ws || ws.readyState !== 1) throw new Error("not connected");
      const done = new Promise((resolve, reject) => {
        this.sends.set(id, {frame: null, conv: conv || this.conversationId, resolve, reject, ws});
      });
      ws.send(encode({type: T.FILE_START, conversationId: conv, transferId, name: name || file.name || "file",
        mediaType: file.type || "", size: data.length, sha256: sha, clientMsgId: id}));
      const chunk = 32 << 10;
      for (let off = 0; off < data.length; off += chunk) {
        ws.send(encode({type: T.FILE_CHUNK, transferId, data: data.subarray(off, Math.min(off + chunk, data.length))}));
      }
      ws.send(encode({type: T.FILE_END, transferId}));
      return done;
    }

    // fetchAttachment downloads an attachment of a POST and resolves with
    // {name, mediaType, blob}; the SHA-256 the server announces is checked.
    fetchAttachment(attachmentId) {
      const transferId = ++this.nextTransfer;
      return this.download({type: T.FETCH, attachmentId, transferId}, transferId,
        m => m.type === T.ERROR && m.conversationId === 0 && !m.clientMsgId);
    }

    // transcript downloads a conversation's transcript ("text" or "json").
    transcript(format, conversationId) {
      const transferId = ++this.nextTransfer, id = conversationId || 0;
      return this.download({type: T.TRANSCRIPT, conversationId: id, format: format === "json" ? 2 : 1, transferId}, transferId,
        m => m.type === T.ERROR && (m.conversationId === id || m.conversationId === this.conversationId));
    }

    // offers reports whether the server shared a capability in its
    // WELCOME: "mail" when it mails transcripts (mailTranscript).
    offers(cap) { return !!(this.welcome && (this.welcome.caps || []).includes(cap)); }

    // mailTranscript has the customer's transcript mailed to the
    // conversation's address; resolves with the address, partly hidden,
    // or rejects with the ERROR (rate limited, no address, unsupported).
    mailTranscript() {
      const id = this.conversationId, transferId = ++this.nextTransfer;
      return this.request({type: T.TRANSCRIPT, conversationId: id, format: 3, transferId},
        m => (m.type === T.EVENT && m.kind === EVENT.mailed && m.conversationId === id) ||
          (m.type === T.ERROR && m.conversationId === id && !m.clientMsgId)).then(m => m.text);
    }

    download(req, transferId, matchError) {
      return new Promise((resolve, reject) => {
        if (!this.write(req)) { reject(new Error("not connected")); return; }
        this.downloads.set(transferId, {start: null, parts: [], resolve, reject, matchError});
      });
    }

    async finishDownload(d) {
      if (!d.start) { d.reject(new ProtocolError("file without FILE_START")); return; }
      const blob = new Blob(d.parts, {type: d.start.mediaType || "application/octet-stream"});
      const sha = new Uint8Array(await global.crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
      const want = d.start.sha256 || new Uint8Array(0);
      if (want.length === 32 && (sha.length !== 32 || sha.some((x, i) => x !== want[i]))) {
        d.reject(new ProtocolError("checksum mismatch")); return;
      }
      d.resolve({name: d.start.name, mediaType: d.start.mediaType, size: d.start.size, blob});
    }

    // request writes m and resolves with the first frame match accepts (or
    // rejects with an ERROR that answers it).
    request(m, match) {
      return new Promise((resolve, reject) => {
        if (!this.write(m)) { reject(new Error("not connected")); return; }
        this.waits.push({match, resolve, reject});
      });
    }

    typing(on, conversationId) { return this.write({type: T.TYPING, conversationId: conversationId || 0, on: !!on}); }
    markRead(seq, conversationId) { return this.write({type: T.READ, conversationId: conversationId || 0, seq}); }
    history(afterSeq, conversationId) { return this.write({type: T.HISTORY, conversationId: conversationId || this.conversationId, afterSeq}); }
    setPresence(available) { return this.write({type: T.PRESENCE, state: available ? 1 : 2}); }

    accept(conversationId) {
      return this.request({type: T.ACCEPT, conversationId: conversationId || 0},
        m => m.type === T.ASSIGNED && (!conversationId || m.conversationId === conversationId) || m.type === T.ERROR);
    }
    transfer(conversationId, to) {
      return this.request({type: T.TRANSFER, conversationId, to},
        m => (m.type === T.EVENT && m.kind === EVENT.transferred && m.conversationId === conversationId) ||
          (m.type === T.ERROR && m.conversationId === conversationId));
    }
    closeConversation(conversationId) {
      const id = conversationId || this.conversationId;
      return this.request({type: T.CLOSE, conversationId: conversationId || 0},
        m => (m.type === T.EVENT && m.kind === EVENT.closed && m.conversationId === id) ||
          (m.type === T.ERROR && m.conversationId === id));
    }

    // close ends the client: BYE, then the socket.
    close() {
      this.closed = true;
      if (this.ws) { try { this.ws.send(encode({type: T.BYE, reason: "client closed"})); } catch (e) { /* gone */ } this.ws.close(1000); }
    }
  }

  SwitchboardChat.encode = encode;
  SwitchboardChat.decode = decode;
  SwitchboardChat.Framer = Framer;
  SwitchboardChat.TYPES = T;
  SwitchboardChat.ROLE = ROLE;
  SwitchboardChat.EVENT = EVENT;
  global.SwitchboardChat = SwitchboardChat;
})(typeof window !== "undefined" ? window : globalThis);
