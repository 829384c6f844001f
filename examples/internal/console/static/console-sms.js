// The batch page's live progress: asks the console for the batch's
// progress every second until every message has its outcome, and shows
// the rate (over the last 15 seconds), the time left at that rate, and
// why queued messages wait.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) return;
  var url = box.dataset.url;
  var samples = []; // {t, handled}
  var $ = function (id) { return document.getElementById(id); };

  function duration(s) {
    s = Math.round(s);
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }

  function show(p) {
    var now = Date.now();
    samples.push({ t: now, handled: p.handled });
    while (samples.length > 2 && now - samples[0].t > 15000) samples.shift();
    $("bar").value = p.percent;
    $("bar").textContent = p.percent + "%";
    $("percent").textContent = p.percent + "%";
    $("handled").textContent = p.handled;
    $("delivered").textContent = p.delivered;
    $("failed").textContent = p.failed;
    document.querySelectorAll("td[data-state]").forEach(function (td) {
      td.textContent = p.by_state[td.dataset.state] || 0;
    });
    var first = samples[0], span = (now - first.t) / 1000;
    var rate = span >= 2 ? (p.handled - first.handled) / span : NaN;
    var left = p.total - p.handled;
    var reasons = p.waiting.slice();
    if (left > 0 && rate > 0) {
      $("rate").textContent = "· " + rate.toFixed(rate < 10 ? 1 : 0) + " a second";
      $("eta").textContent = "· about " + duration(left / rate) + " left";
    } else {
      $("rate").textContent = left > 0 && span >= 10 ? "· stalled" : "";
      $("eta").textContent = "";
      if (left > 0 && span >= 10 && reasons.length === 0)
        reasons.push("No progress for " + Math.round(span) + " s: the gateway may be busy with other batches or throttled.");
    }
    var ul = $("waiting");
    ul.textContent = "";
    reasons.forEach(function (r) { var li = document.createElement("li"); li.textContent = r; ul.appendChild(li); });
    $("done").hidden = !p.final;
    box.dataset.final = String(p.final);
    return p.final;
  }

  var delay = 1000;
  function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (p) { delay = 1000; if (!show(p)) setTimeout(poll, delay); })
      .catch(function () { delay = Math.min(delay * 2, 30000); setTimeout(poll, delay); });
  }
  if (box.dataset.final !== "true") poll();
})();
