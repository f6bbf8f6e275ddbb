/** The current user's signer, loaded once per session, and the signed-mutation round trip. */

import { gql, GqlError } from "../api/gql";
import { session } from "../api/session";
import { asSent, loadDemoSigner, signOperation, SignerUnavailable, type Meaning, type SignatureInput,
  type Signer } from "./signer";
import { t } from "../i18n";
import { askPassword } from "./reauth";

let cached: { token: string; signer: Promise<Signer> } | null = null;

session.onChange(() => {
  cached = null;
});

/** The signed-in user's signer; a rejected load is not cached so a retry can succeed. */
export function currentSigner(): Promise<Signer> {
  const token = session.token;
  if (!token) return Promise.reject(new SignerUnavailable(t("sign.signInFirst")));
  if (cached && cached.token === token) return cached.signer;
  const signer = loadDemoSigner(token);
  cached = { token, signer };
  signer.catch(() => {
    if (cached?.signer === signer) cached = null;
  });
  return signer;
}

export interface SignedRequest<I extends object> {
  /** The mutation's field name, which is also the signed `operation`. */
  operation: string;
  /** The mutation document; it must take `$input` and `$signature` (and `$verification` if given). */
  document: string;
  input: I;
  meaning?: Meaning;
  /** A second person's signature over the same input, already made. */
  verification?: (input: I) => Promise<SignatureInput>;
}

/**
 * Sign `input` as the current user and send it as `$input`; resolves to the mutation's data. `T` and
 * `V` are the document's generated types, e.g. `sendSigned<AckMutation, AckMutationVariables>`.
 */
export async function sendSigned<T, V extends { input: object }>(req: SignedRequest<V["input"]>): Promise<T> {
  const input = asSent(req.input);
  const signer = await currentSigner();
  for (let attempt = 0; ; attempt++) {
    // Signed again on every attempt: a nonce is used once, and signedAt must be fresh.
    const signature = await signOperation(signer, req.operation, input, req.meaning ?? "PERFORMED");
    const variables: Record<string, unknown> = { input, signature };
    if (req.verification) variables.verification = await req.verification(input);
    try {
      return await gql<T>(req.document, variables);
    } catch (e) {
      // The first signature of the session, or after a pause: the signer's password, then the same request.
      if (!(e instanceof GqlError) || e.code !== "REAUTHENTICATION_REQUIRED" || attempt >= 2) throw e;
      const who = typeof e.extensions.signer === "string" ? e.extensions.signer : signer.username;
      await askPassword(who, e.extensions.secondPerson === true);
    }
  }
}
