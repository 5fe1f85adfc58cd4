// The DataScope page's preview before saving (divisions/admin_preview.py): as "everyone" or a
// division is ticked, the server says who would gain or lose sight of the division's jobs.
"use strict";

(function () {
  const box = document.querySelector(".scope-preview[data-preview-url]");
  if (!box) return;
  const form = box.closest("form");
  const previewFirst = form.querySelector("input[name=_preview_first]");
  const sightFields = new Set(["is_everyone", "listed_divisions"]);
  let asked = 0;
  let pending = null;

  function show(lines) {
    const list = document.createElement("ul");
    list.className = "scope-preview-lines";
    for (const line of lines) {
      const item = document.createElement("li");
      item.textContent = line;
      list.append(item);
    }
    box.replaceChildren(list);
  }

  function preview() {
    const asking = ask().finally(() => {
      if (pending === asking) pending = null;
    });
    pending = asking;
  }

  async function ask() {
    const number = ++asked;
    // Until the preview for these values is on the page, saving stops on the confirm step.
    if (previewFirst) previewFirst.disabled = false;
    box.textContent = "Working out who would gain or lose sight…";
    try {
      const response = await fetch(box.dataset.previewUrl, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
      });
      const answer = await response.json();
      if (number !== asked) return;
      if (!response.ok) {
        const errors = Object.values(answer.errors || {}).flat();
        box.textContent = errors.join(" ") || "No preview for these values.";
        return;
      }
      show(answer.lines);
      if (previewFirst) previewFirst.disabled = true;
    } catch (error) {
      if (number === asked) box.textContent = "No preview now: saving will show it first.";
    }
  }

  form.addEventListener("change", (event) => {
    if (sightFields.has(event.target.name)) preview();
  });

  // A save waits for the preview on its way: one request at a time, and the save then goes
  // straight through when the preview was shown.
  form.addEventListener("submit", (event) => {
    if (!pending) return;
    event.preventDefault();
    const submitter = event.submitter;
    pending.then(() => form.requestSubmit(submitter || undefined));
  });
})();
