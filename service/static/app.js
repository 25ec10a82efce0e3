// lexcite pages: the one script (CSP forbids inline ones). Everything from the server is
// put into the page with textContent, never as HTML.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const mark = document.getElementById("hl");
  if (mark) mark.scrollIntoView({ block: "center" });

  // In another site's iframe (/embed): tell static/embed.js how tall the page is. Only a
  // height is sent, so any parent may hear it.
  if (document.body.classList.contains("embedded") && window.parent !== window) {
    const report = () => window.parent.postMessage(
      { lexciteHeight: document.documentElement.offsetHeight }, "*");
    report();
    new ResizeObserver(report).observe(document.body);
  }

  const token = document.getElementById("token");
  const status = document.getElementById("staff-status");
  if (!token || !status) return;
  token.value = sessionStorage.getItem("lexcite-token") || "";
  token.addEventListener("input", () => sessionStorage.setItem("lexcite-token", token.value));
  status.textContent = sessionStorage.getItem("lexcite-status") || "";
  sessionStorage.removeItem("lexcite-status");

  async function send(method, url, body) {
    status.textContent = "Working…";
    let text;
    try {
      const response = await fetch(url, {
        method, body, headers: { Authorization: "Bearer " + token.value },
      });
      const data = await response.json();
      if (!response.ok) {
        status.textContent = "Error: " + (data.error ? data.error.message : response.status);
        return;
      }
      text = `${data.status}: ${data.document_id} (generation ${data.generation})`;
    } catch (err) {
      status.textContent = "Error: " + err;
      return;
    }
    sessionStorage.setItem("lexcite-status", text);
    location.reload();
  }

  const upload = document.getElementById("upload");
  if (upload) {
    upload.addEventListener("submit", (event) => {
      event.preventDefault();
      send("POST", "/v1/documents", new FormData(upload));
    });
  }
  for (const button of document.querySelectorAll("button[data-delete]")) {
    button.addEventListener("click", () => {
      const id = button.dataset.delete;
      if (confirm(`Delete ${id} from the corpus and re-index?`)) {
        send("DELETE", "/v1/documents/" + encodeURIComponent(id));
      }
    });
  }
});
