// The chat widget's embed snippet: a button at the corner of any page
// that opens the chat in a frame. Put on a page:
//   <script src="https://support.example.com/chat/embed.js" data-label="Chat with us" async></script>
(function () {
  "use strict";
  var me = document.currentScript;
  var base = me.src.replace(/embed\.js(\?.*)?$/, "");
  var token = me.getAttribute("data-token") || "";
  var button = document.createElement("button");
  button.type = "button";
  button.textContent = me.getAttribute("data-label") || "Chat";
  button.setAttribute("aria-expanded", "false");
  button.style.cssText = "position:fixed;right:1rem;bottom:1rem;z-index:2147483000;padding:.7rem 1.1rem;border:0;" +
    "border-radius:2rem;background:#0b5cad;color:#fff;font:15px system-ui,sans-serif;cursor:pointer";
  var frame = null;
  button.addEventListener("click", function () {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.src = base + (token ? "?token=" + encodeURIComponent(token) : "");
      frame.title = "Chat";
      frame.style.cssText = "position:fixed;right:1rem;bottom:4.5rem;z-index:2147483000;width:min(24rem,calc(100vw - 2rem));" +
        "height:min(36rem,calc(100vh - 6rem));border:1px solid #d6dbe1;border-radius:.6rem;background:#fff;" +
        "box-shadow:0 .5rem 2rem rgba(0,0,0,.2)";
      document.body.appendChild(frame);
    } else {
      frame.hidden = !frame.hidden;
    }
    button.setAttribute("aria-expanded", String(!frame.hidden));
  });
  document.body.appendChild(button);
})();
