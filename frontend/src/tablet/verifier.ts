/**
 * A second person present signs in on this device only to sign (VERIFIED): their token is revoked
 * right after, so the tablet stays the first person's.
 */

import { authenticate, revoke } from "../api/auth";
import { h } from "../dom";
import { confirmPassword } from "../sign/reauth";
import { loadDemoSigner, type Signer } from "../sign/signer";
import { errorBox, openModal } from "../ui/modal";
import { busy, field, refusal } from "./common";
import { t } from "../i18n";

/** The second person signs in on this device only to sign; `use` runs with their signer. */
export function askVerifier(use: (verifier: Signer) => Promise<void>, what = t("verifier.thisClearance")): void {
  openModal(t("verifier.title"), (m) => {
    const err = errorBox();
    const user = h("input", { name: "verifier", type: "text", autocomplete: "off", autocapitalize: "none", spellcheck: "false" });
    const pass = h("input", { name: "verifierPassword", type: "password", autocomplete: "off" });
    const ok = h("button", { type: "submit", class: "primary big" }, t("verifier.submit"));
    const f = h("form", { class: "tablet-form" },
      h("p", null, t("verifier.intro", { what })),
      field(t("verifier.username"), user), field(t("signin.password"), pass), err.el,
      h("div", { class: "actions" }, h("button", { type: "button", class: "big", onClick: () => m.close() }, t("common.cancel")), ok));
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      err.clear();
      void busy(ok, t("sign.signing"), async () => {
        const c = await authenticate(user.value.trim(), pass.value);
        try {
          // The same password confirms their one signature on this session (docs/signatures.md).
          await confirmPassword(pass.value, user.value.trim());
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
