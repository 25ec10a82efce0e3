// lexcite on another site: put this where the assistant should appear,
//   <script src="https://lexcite.example.org/static/embed.js" async></script>
// and it inserts an iframe of lexcite's /embed page there (that site's origin must be in
// LEXCITE_EMBED_ORIGINS). Optional attributes: data-height (pixels, default 640) and
// data-title (the frame's accessible name). The frame grows with its answer.
"use strict";

(() => {
  const script = document.currentScript;
  if (!script) return;
  const origin = new URL(script.src).origin;
  const frame = document.createElement("iframe");
  frame.src = origin + "/embed";
  frame.title = script.dataset.title || "Ask lexcite: answers quoted from cited sources";
  frame.className = "lexcite-frame";
  // Scripts (the height report), forms (the question box) and new tabs (source documents);
  // no top navigation: the assistant can never take over the host page.
  frame.setAttribute(
    "sandbox",
    "allow-scripts allow-forms allow-same-origin allow-popups allow-popups-to-escape-sandbox"
  );
  frame.style.width = "100%";
  frame.style.border = "0";
  frame.style.height = (parseInt(script.dataset.height, 10) || 640) + "px";
  script.after(frame);

  window.addEventListener("message", (event) => {
    if (event.origin !== origin || event.source !== frame.contentWindow) return;
    const height = event.data && event.data.lexciteHeight;
    if (Number.isFinite(height) && height > 0) frame.style.height = Math.ceil(height) + "px";
  });
})();
