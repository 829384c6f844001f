// The chat widget: a customer's side of switchboard's chat in a page,
// over WebSocket, with switchboard-chat.js. A reload takes the
// conversation up again (its resume token is kept in sessionStorage) and
// shows every message once.
(function () {
  "use strict";
  const $ = id => document.getElementById(id);
  const KEY = "switchboard-chat";
  const base = location.pathname.replace(/[^/]*$/, "");
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + base + "ws";
  const siteToken = new URLSearchParams(location.search).get("token") || "";
  const ROLE = SwitchboardChat.ROLE, EVENT = SwitchboardChat.EVENT;
  let chat = null;
  const shown = new Set(); // seqs on screen

  function error(text) { $("error").textContent = text || ""; $("error").hidden = !text; }
  function status(text) { $("status").textContent = text; }
  function scroll() { const m = $("messages"); m.scrollTop = m.scrollHeight; }

  // show puts a message on screen once, in sequence order.
  function show(seq, role, who, build) {
    if (shown.has(seq)) return;
    shown.add(seq);
    const li = document.createElement("li");
    li.dataset.seq = String(seq);
    li.className = role === ROLE.customer ? "customer" : role === ROLE.system ? "system" : "operator";
    if (who && role === ROLE.operator) {
      const w = document.createElement("span"); w.className = "who"; w.textContent = who; li.appendChild(w);
    }
    build(li);
    const list = $("messages");
    let after = null;
    for (const el of list.children) { if (Number(el.dataset.seq) > seq) { after = el; break; } }
    list.insertBefore(li, after);
    scroll();
  }

  function text(li, t) { li.appendChild(document.createTextNode(t)); }

  function attachment(li, p) {
    const name = p.fileName || "file";
    if ((p.mediaType || "").startsWith("image/")) {
      const img = document.createElement("img"); img.alt = name; li.appendChild(img);
      chat.fetchAttachment(p.attachmentId).then(f => { img.src = URL.createObjectURL(f.blob); scroll(); },
        () => { img.alt = name + " (could not be loaded)"; });
      return;
    }
    const a = document.createElement("a"); a.href = "#"; a.textContent = name + " (" + Math.ceil((p.size || 0) / 1024) + " KB)";
    a.addEventListener("click", ev => {
      ev.preventDefault();
      chat.fetchAttachment(p.attachmentId).then(f => {
        const link = document.createElement("a"); link.href = URL.createObjectURL(f.blob); link.download = name; link.click();
      }, e => error("The file could not be downloaded: " + e.message));
    });
    li.appendChild(a);
  }

  function onPost(p) {
    show(p.seq, p.senderRole, p.senderName, li => (p.kind === 2 ? attachment(li, p) : text(li, p.text)));
    if (p.senderRole !== ROLE.customer && document.visibilityState === "visible") chat.markRead(p.seq);
  }

  function onEvent(e) {
    switch (e.kind) {
      case EVENT.queued: {
        let s = e.position === 1 ? "You are next in line." : "You are number " + e.position + " in line.";
        if (e.wait) s += " About " + Math.max(1, Math.round(e.wait / 60000)) + " min.";
        status(s);
        break;
      }
      case EVENT.assigned: case EVENT.transferred: status((e.operatorName || "An operator") + " is with you."); break;
      case EVENT.away: status("The operator's connection dropped; they will be back."); break;
      case EVENT.back: status("The operator is back."); break;
      case EVENT.offline: status(e.text || "No operator is available now: leave your message and we will answer."); break;
      case EVENT.closed:
        status("The conversation has ended.");
        $("compose").hidden = true;
        sessionStorage.removeItem(KEY);
        break;
    }
  }

  function onTyping(t) { if (t.role === ROLE.operator) $("typing").hidden = !t.on; }

  async function start(opts) {
    error("");
    chat = new SwitchboardChat(Object.assign({url, role: "customer", client: "switchboard-widget/1",
      onPost, onEvent, onTyping,
      onError: e => error(e.message),
      onState: s => { if (s === "connecting" && shown.size) status("Reconnecting…"); }}, opts));
    try {
      await chat.connect();
    } catch (e) {
      chat = null;
      if (opts.resume) { sessionStorage.removeItem(KEY); showForm(); return; } // expired: start again
      error(e.message); showForm(); return;
    }
    sessionStorage.setItem(KEY, JSON.stringify({resume: chat.welcome.resume, name: opts.name || "", email: opts.email || ""}));
    $("start").hidden = true;
    $("conversation").hidden = false;
    $("mail-transcript").hidden = !chat.offers("mail");
    if (!$("status").textContent) status("Connected.");
  }

  $("mail-transcript").addEventListener("click", async () => {
    if (!chat) return;
    $("mail-transcript").disabled = true;
    try {
      $("mailed").textContent = "Sent to " + await chat.mailTranscript() + ".";
    } catch (e) {
      $("mailed").textContent = "Not sent: " + e.message;
    } finally {
      setTimeout(() => { $("mail-transcript").disabled = false; }, 60000); // one a minute
    }
  });

  function showForm() { $("start").hidden = false; $("conversation").hidden = true; }

  $("start").addEventListener("submit", ev => {
    ev.preventDefault();
    const f = ev.target;
    start({name: f.name.value.trim(), email: f.email.value.trim(), token: siteToken});
  });

  let typingOn = false, typingTimer = 0;
  $("compose").text.addEventListener("input", () => {
    if (!chat) return;
    if (!typingOn) { typingOn = true; chat.typing(true); }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { typingOn = false; chat.typing(false); }, 2000);
  });
  $("compose").text.addEventListener("keydown", ev => {
    if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); $("compose").requestSubmit(); }
  });

  $("compose").addEventListener("submit", async ev => {
    ev.preventDefault();
    if (!chat) return;
    const f = ev.target, t = f.text.value.trim(), file = f.file.files[0];
    if (t) {
      f.text.value = "";
      try {
        const ack = await chat.send(t);
        show(ack.seq, ROLE.customer, "", li => text(li, t));
      } catch (e) { f.text.value = t; error("Not sent: " + e.message); }
    }
    if (file) {
      f.file.value = "";
      try {
        const ack = await chat.sendFile(file);
        show(ack.seq, ROLE.customer, "", li => {
          if (file.type.startsWith("image/")) {
            const img = document.createElement("img"); img.alt = file.name; img.src = URL.createObjectURL(file); li.appendChild(img);
          } else {
            text(li, file.name);
          }
        });
      } catch (e) { error("The file was not sent: " + e.message); }
    }
  });

  document.addEventListener("visibilitychange", () => {
    if (chat && document.visibilityState === "visible") {
      const seqs = [...shown]; if (seqs.length) chat.markRead(Math.max(...seqs));
    }
  });

  const saved = JSON.parse(sessionStorage.getItem(KEY) || "null");
  if (saved && saved.resume) start({resume: saved.resume, name: saved.name, email: saved.email, token: siteToken});
  else if (siteToken) start({token: siteToken}); // the site vouches for the customer: no form
})();
