/** The connection banner: a lost WebSocket is shown at once, with the retry count, never silently. */

import { live, type LinkStatus } from "../api/live";
import { h } from "../dom";
import { t } from "../i18n";

export function connectionBanner(): { el: HTMLElement; dispose(): void } {
  const el = h("div", { class: "conn-banner", role: "alert", hidden: true, "data-testid": "connection-banner" });
  let okTimer: number | undefined;
  let slowTimer: number | undefined;
  const render = (s: LinkStatus) => {
    window.clearTimeout(okTimer);
    window.clearTimeout(slowTimer);
    document.body.classList.toggle("link-down", s.state === "reconnecting" || s.state === "closed");
    if (s.state === "connected") {
      if (s.reconnectedAt) {
        el.hidden = false;
        el.className = "conn-banner ok";
        el.textContent = t("conn.restored");
        okTimer = window.setTimeout(() => { el.hidden = true; }, 4000);
      } else {
        el.hidden = true;
      }
      return;
    }
    if (s.state === "idle") {
      el.hidden = true;
      return;
    }
    if (s.state === "connecting") {
      el.hidden = true;
      // A first connection that takes long is worth saying too.
      slowTimer = window.setTimeout(() => {
        el.hidden = false;
        el.className = "conn-banner";
        el.textContent = t("conn.connecting");
      }, 2000);
      return;
    }
    el.hidden = false;
    el.className = "conn-banner down";
    el.replaceChildren(
      h("strong", null, t("conn.lost")),
      s.state === "closed"
        ? t("conn.stopped", { reason: s.reason ? ` (${s.reason})` : "" })
        : t(s.attempts > 1 ? "conn.reconnectingN" : "conn.reconnecting", { n: s.attempts, reason: s.reason ? ` · ${s.reason}` : "" }));
  };
  const off = live.onStatus(render);
  return { el, dispose: off };
}
