// NoticeDesk pages: live countdowns and the copy button. The pages read fine without it.
"use strict";

(function () {
  const lang = document.body.dataset.lang || "en";
  // The server's clock, not this machine's: a countdown is right even where the PC's clock is not.
  const served = Date.parse(document.body.dataset.now || "");
  const skew = Number.isNaN(served) ? 0 : served - Date.now();

  function span(seconds) {
    const abs = Math.abs(seconds);
    const days = Math.floor(abs / 86400);
    const hours = Math.floor((abs % 86400) / 3600);
    const minutes = Math.floor((abs % 3600) / 60);
    const pad = String(minutes).padStart(2, "0");
    if (lang === "ja") {
      const text = days ? `${days} 日 ${hours} 時間` : `${hours} 時間 ${pad} 分`;
      return seconds < 0 ? `${text}超過` : `あと ${text}`;
    }
    const text = days ? `${days} d ${hours} h` : `${hours} h ${pad} min`;
    return seconds < 0 ? `overdue by ${text}` : `${text} left`;
  }

  function urgency(seconds) {
    if (seconds < 0) return "u-overdue";
    if (seconds < 86400) return "u-under-24h";
    return seconds < 3 * 86400 ? "u-under-72h" : "u-later";
  }

  function tick() {
    const now = Date.now() + skew;
    for (const node of document.querySelectorAll("time.countdown[datetime]")) {
      const at = Date.parse(node.getAttribute("datetime"));
      if (Number.isNaN(at)) continue;
      const seconds = Math.floor((at - now) / 1000);
      node.textContent = span(seconds);
      const row = node.closest("tr, dd");
      if (row) {
        row.classList.remove("u-overdue", "u-under-24h", "u-under-72h", "u-later", "u-no-deadline");
        row.classList.add(urgency(seconds));
      }
    }
  }

  function copyButtons() {
    for (const button of document.querySelectorAll("button.copy[data-copy]")) {
      button.hidden = false;
      button.addEventListener("click", async () => {
        const source = document.getElementById(button.dataset.copy);
        if (!source) return;
        try {
          await navigator.clipboard.writeText(source.value);
        } catch (error) {
          source.select();
          document.execCommand("copy");
        }
        button.classList.add("copied");
      });
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    tick();
    setInterval(tick, 1000);
    copyButtons();
  });
})();
