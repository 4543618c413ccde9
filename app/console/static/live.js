// Klaxon console, live: on each "change" event from /live, fetch this page again
// and swap in its [data-live] parts (checked boxes stay checked). Without this
// script every page still works; it is only not live.
"use strict";
(function () {
  if (!window.EventSource || !document.querySelector("[data-live]")) return;
  let busy = false, again = false;
  async function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    try {
      const response = await fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } });
      if (!response.ok || response.redirected) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      const checked = new Set(Array.from(document.querySelectorAll("[data-live] input[type=checkbox]:checked"), (box) => box.value));
      for (const part of document.querySelectorAll("[data-live][id]")) {
        const next = fresh.getElementById(part.id);
        if (!next) continue;
        for (const box of next.querySelectorAll("input[type=checkbox]")) box.checked = checked.has(box.value) && !box.disabled;
        part.replaceWith(document.adoptNode(next));
      }
      document.documentElement.dataset.liveGeneration = String(Number(document.documentElement.dataset.liveGeneration || 0) + 1);
    } catch (error) {
      // A failed refresh waits for the next change.
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }
  const source = new EventSource("/live");
  source.addEventListener("change", refresh);
  source.addEventListener("open", () => { document.documentElement.dataset.live = "open"; });
})();
