/**
 * A second person present signs in on this device only to sign (VERIFIED): their token is revoked
 * right after, so the tablet stays the first person's.
 */

import { authenticate, revoke } from "../api/auth";
import { h } from "../dom";
import { loadDemoSigner, type Signer } from "../sign/signer";
import { errorBox, openModal } from "../ui/modal";
import { busy, field, refusal } from "./common";

/** The second person signs in on this device only to sign; `use` runs with their signer. */
export function askVerifier(use: (verifier: Signer) => Promise<void>, what = "this clearance"): void {
  openModal("Verification by a second person", (m) => {
    const err = errorBox();
    const user = h("input", { name: "verifier", type: "text", autocomplete: "off", autocapitalize: "none", spellcheck: "false" });
    const pass = h("input", { name: "verifierPassword", type: "password", autocomplete: "off" });
    const ok = h("button", { type: "submit", class: "primary big" }, "Verify and sign");
    const f = h("form", { class: "tablet-form" },
      h("p", null, `The verifier signs in here to sign ${what} as VERIFIED. They are signed out again at once.`),
      field("Verifier username", user), field("Password", pass), err.el,
      h("div", { class: "actions" }, h("button", { type: "button", class: "big", onClick: () => m.close() }, "Cancel"), ok));
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      err.clear();
      void busy(ok, "Signing…", async () => {
        const c = await authenticate(user.value.trim(), pass.value);
        try {
          const signer = await loadDemoSigner(c.token);
          await use(signer);
        } finally {
          await revoke(c.token);
        }
        m.close();
      }, (e) => err.show(refusal(e)));
    });
    m.body.append(f);
    setTimeout(() => user.focus(), 0);
  }, "tablet-modal");
}
