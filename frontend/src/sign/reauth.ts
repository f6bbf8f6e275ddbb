/**
 * Re-authentication at signing (docs/signatures.md): the key this browser holds proves the device, not
 * the person at it, so the server asks for the signer's password at the first signature of a session,
 * after a pause, and for a second person every time. This asks for it and gives it to the server.
 */

import { errorText, gql } from "../api/gql";
import { h } from "../dom";
import { t } from "../i18n";
import { errorBox, openModal } from "../ui/modal";

const REAUTHENTICATE = /* GraphQL */ `mutation Reauthenticate($password: String!, $signer: String) {
  reauthenticate(password: $password, signer: $signer) { signer validUntil } }`;

/** A refusal the caller shows when the person closed the dialog instead of giving the password. */
export class SigningCancelled extends Error {
  constructor() {
    super(t("reauth.cancelled"));
    this.name = "SigningCancelled";
  }
}

/** `signer`'s password given again on this session (as a second person at this device when `second`). */
export async function confirmPassword(password: string, signer: string | null): Promise<void> {
  await gql(REAUTHENTICATE, { password, signer });
}

/** Ask `signer` for their password and give it to the server; rejects when they cancel. */
export function askPassword(signer: string, second: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    let done = false;
    openModal(t("reauth.title"), (m) => {
      const err = errorBox();
      const pass = h("input", { name: "signingPassword", type: "password", autocomplete: "current-password" });
      const ok = h("button", { type: "submit", class: "primary" }, t("reauth.submit"));
      const form = h("form", { class: "reauth-form" },
        h("p", null, t(second ? "reauth.introSecond" : "reauth.intro", { signer })),
        h("label", null, t("reauth.password"), pass), err.el,
        h("div", { class: "actions" },
          h("button", { type: "button", onClick: () => m.close() }, t("common.cancel")), ok));
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        err.clear();
        ok.disabled = true;
        confirmPassword(pass.value, second ? signer : null).then(() => {
          done = true;
          m.close();
          resolve();
        }, (e: unknown) => {
          ok.disabled = false;
          err.show(errorText(e));
        });
      });
      m.body.append(form);
      setTimeout(() => pass.focus(), 0);
    }, "reauth-modal", () => {
      if (!done) reject(new SigningCancelled());
    });
  });
}
