// The console's chat page: an operator's line and conversations, live over
// WebSocket (switchboard-chat.js), logged in by the console session. A
// reload shows every conversation again from its start, each message once.
(function () {
  "use strict";
  const root = document.getElementById("console-chat");
  if (!root) return;
  const ROLE = SwitchboardChat.ROLE, EVENT = SwitchboardChat.EVENT;
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.dataset.ws;
  const convs = new Map(); // conversation id -> {tab, panel, shown: Set, name}
  const $ = sel => root.querySelector(sel);
  let current = 0;
  const log = []; // connection states, for whoever debugs the page
  window.switchboardChatLog = log;

  function status(t) { $("#chat-status").textContent = t; }

  const chat = new SwitchboardChat({
    url, role: "operator", login: root.dataset.login, client: "switchboard-console/1",
    onState: (s, detail) => {
      log.push(s + (detail && detail.message ? ": " + detail.message : ""));
      if (s === "open") $("#available").checked = detail.presence !== 2; // the server keeps it across reloads
      status(s === "open" ? "Connected." : s === "connecting" ? "Connecting…" : "Connection lost; reconnecting…");
    },
    onQueue: showLine,
    onAssigned: a => open(a),
    onPost: p => post(p),
    onEvent: e => event(e),
    onTyping: t => { const c = convs.get(t.conversationId); if (c && t.role === ROLE.customer) c.panel.querySelector(".typing").hidden = !t.on; },
    onRead: r => markRead(r),
    onError: e => status("Error: " + e.message),
  });
  chat.connect().catch(e => status("Could not connect: " + e.message));

  function showLine(q) {
    $("#line-count").textContent = String(q.total);
    const list = $("#line");
    list.textContent = "";
    for (const e of q.entries) {
      const li = document.createElement("li");
      li.dataset.conversation = String(e.conversationId);
      li.appendChild(document.createTextNode(e.customerName + " "));
      const b = document.createElement("button");
      b.type = "button"; b.textContent = "Accept"; b.className = "accept";
      b.addEventListener("click", () => chat.accept(e.conversationId).catch(err => status("Not accepted: " + err.message)));
      li.appendChild(b);
      list.appendChild(li);
    }
  }
  $("#accept-next").addEventListener("click", () => chat.accept(0).catch(err => status("Nobody to accept: " + err.message)));
  $("#available").addEventListener("change", ev => chat.setPresence(ev.target.checked));

  // open makes (or finds) the tab of an assigned conversation.
  function open(a) {
    let c = convs.get(a.conversationId);
    if (!c) {
      const tab = document.createElement("button");
      tab.type = "button"; tab.setAttribute("role", "tab"); tab.dataset.conversation = String(a.conversationId);
      tab.addEventListener("click", () => select(a.conversationId));
      $("#tabs").appendChild(tab);
      const panel = document.getElementById("panel-template").content.firstElementChild.cloneNode(true);
      panel.dataset.conversation = String(a.conversationId);
      panel.hidden = true;
      const empty = $("#panels .empty"); if (empty) empty.remove();
      $("#panels").appendChild(panel);
      c = {tab, panel, shown: new Set(), name: a.customerName};
      convs.set(a.conversationId, c);
      wire(a.conversationId, c);
    }
    c.tab.textContent = a.customerName + (a.leftMessage ? " (left a message)" : "");
    c.panel.querySelector(".who").textContent = a.customerName + (a.email ? " <" + a.email + ">" : "") +
      (a.verified ? " · verified by the website" : "") + (a.leftMessage ? " · left a message while no operator was online" : "");
    if (!current) select(a.conversationId);
  }

  function select(id) {
    current = id;
    for (const [cid, c] of convs) {
      const on = cid === id;
      c.panel.hidden = !on; c.tab.setAttribute("aria-selected", String(on));
      if (on) { const seqs = [...c.shown]; if (seqs.length) chat.markRead(Math.max(...seqs), cid); }
    }
  }

  function show(id, seq, role, who, build) {
    const c = convs.get(id);
    if (!c || c.shown.has(seq)) return;
    c.shown.add(seq);
    const li = document.createElement("li");
    li.dataset.seq = String(seq);
    li.className = role === ROLE.operator ? "mine" : role === ROLE.system ? "system" : "customer";
    if (who && role !== ROLE.system) { const w = document.createElement("span"); w.className = "who"; w.textContent = who; li.appendChild(w); }
    build(li);
    const list = c.panel.querySelector(".messages");
    let after = null;
    for (const el of list.children) { if (Number(el.dataset.seq) > seq) { after = el; break; } }
    list.insertBefore(li, after);
    list.scrollTop = list.scrollHeight;
  }

  function text(li, t) { li.appendChild(document.createTextNode(t)); }

  function attachment(li, p) {
    const name = p.fileName || "file";
    if ((p.mediaType || "").startsWith("image/")) {
      const img = document.createElement("img"); img.alt = name; li.appendChild(img);
      chat.fetchAttachment(p.attachmentId).then(f => { img.src = URL.createObjectURL(f.blob); }, () => { img.alt = name + " (not loaded)"; });
      return;
    }
    const a = document.createElement("a"); a.href = "#"; a.textContent = name;
    a.addEventListener("click", ev => {
      ev.preventDefault();
      chat.fetchAttachment(p.attachmentId).then(f => download(f.blob, name), e => status("Not downloaded: " + e.message));
    });
    li.appendChild(a);
  }

  function download(blob, name) {
    const a = document.createElement("a"); a.href = URL.createObjectURL(blob); a.download = name; a.click();
  }

  function post(p) {
    show(p.conversationId, p.seq, p.senderRole, p.senderName, li => (p.kind === 2 ? attachment(li, p) : text(li, p.text)));
    if (p.conversationId === current && p.senderRole === ROLE.customer && document.visibilityState === "visible") chat.markRead(p.seq, p.conversationId);
  }

  function markRead(r) {
    const c = convs.get(r.conversationId);
    if (!c || r.role !== ROLE.customer) return;
    for (const li of c.panel.querySelectorAll("li.mine")) li.classList.toggle("read", Number(li.dataset.seq) <= r.seq);
  }

  function event(e) {
    const c = convs.get(e.conversationId);
    if (!c) return;
    switch (e.kind) {
      case EVENT.away: c.tab.classList.add("away"); break;
      case EVENT.back: c.tab.classList.remove("away"); break;
      case EVENT.transferred:
        if (e.operatorId !== chat.operatorId) end(e.conversationId, "transferred to " + (e.operatorName || e.operatorId));
        break;
      case EVENT.closed: end(e.conversationId, "closed"); break;
    }
  }

  function end(id, why) {
    const c = convs.get(id);
    if (!c) return;
    c.tab.textContent = c.name + " (" + why + ")";
    c.tab.classList.add("ended");
    c.panel.querySelector(".compose").hidden = true;
    for (const b of c.panel.querySelectorAll(".tools .transfer, .tools .close")) b.disabled = true;
  }

  function wire(id, c) {
    const form = c.panel.querySelector(".compose");
    let typingOn = false, timer = 0;
    form.text.addEventListener("input", () => {
      if (!typingOn) { typingOn = true; chat.typing(true, id); }
      clearTimeout(timer); timer = setTimeout(() => { typingOn = false; chat.typing(false, id); }, 2000);
    });
    form.text.addEventListener("keydown", ev => { if (ev.key === "Enter" && !ev.shiftKey) { ev.preventDefault(); form.requestSubmit(); } });
    form.addEventListener("submit", async ev => {
      ev.preventDefault();
      const t = form.text.value.trim(), file = form.file.files[0];
      if (t) {
        form.text.value = "";
        try { const ack = await chat.send(t, id); show(id, ack.seq, ROLE.operator, "", li => text(li, t)); }
        catch (e) { form.text.value = t; status("Not sent: " + e.message); }
      }
      if (file) {
        form.file.value = "";
        try {
          const ack = await chat.sendFile(file, id);
          show(id, ack.seq, ROLE.operator, "", li => {
            if (file.type.startsWith("image/")) { const img = document.createElement("img"); img.alt = file.name; img.src = URL.createObjectURL(file); li.appendChild(img); }
            else text(li, file.name);
          });
        } catch (e) { status("File not sent: " + e.message); }
      }
    });
    c.panel.querySelector(".transfer").addEventListener("click", () => {
      const to = c.panel.querySelector("input[name=to]").value.trim();
      if (to) chat.transfer(id, to).catch(e => status("Not transferred: " + e.message));
    });
    c.panel.querySelector(".close").addEventListener("click", () => chat.closeConversation(id).catch(e => status("Not closed: " + e.message)));
    c.panel.querySelector(".transcript").addEventListener("click", () => {
      chat.transcript("text", id).then(f => { window.lastTranscript = f; download(f.blob, "conversation-" + id + ".txt"); },
        e => status("No transcript: " + e.message));
    });
  }
})();
