/** Sign-in and sign-out through the API, with a password or an access token QA issued (a regulator's or
 * partner's scoped token); also used for a second person on a shared tablet. */

import type { ChangePasswordMutation, ChangePasswordMutationVariables, SignInMutation, SignInMutationVariables,
  SignOutMutation, ViewerQuery } from "./generated";
import { has, t } from "../i18n";
import { GqlError, errorText, gql } from "./gql";
import { session, type Viewer } from "./session";

const SIGN_IN = /* GraphQL */ `mutation SignIn($u: String!, $p: String!) { signIn(username: $u, password: $p) { token expiresAt } }`;
const VIEWER = /* GraphQL */ `query Viewer { viewer { username displayName roles passwordChangeRequired permissions } }`;
const CHANGE_PASSWORD = /* GraphQL */ `mutation ChangePassword($c: String!, $n: String!) { changePassword(current: $c, new: $n) }`;
const SIGN_OUT = /* GraphQL */ `mutation SignOut { signOut }`;

export interface Credentials {
  token: string;
  expiresAt: string;
  viewer: Viewer;
}

/** Exchange a password for a token without touching this tab's session. */
export async function authenticate(username: string, password: string): Promise<Credentials> {
  const { signIn } = await gql<SignInMutation, SignInMutationVariables>(SIGN_IN, { u: username, p: password }, null);
  const { viewer } = await gql<ViewerQuery>(VIEWER, {}, signIn.token);
  if (!viewer) throw new Error(t("auth.unknownToken"));
  return { ...signIn, viewer };
}

export async function signIn(username: string, password: string): Promise<Viewer> {
  const c = await authenticate(username, password);
  session.set(c.token, c.expiresAt, c.viewer);
  return c.viewer;
}

/** Sign this tab in with an access token: the Viewer query the password sign-in makes checks it (the server
 * refuses an unknown, expired or revoked one with UNAUTHENTICATED), and it is kept as a password session's
 * token is, marked as pasted so that signing out does not revoke it. */
export async function signInWithToken(pasted: string): Promise<Viewer> {
  const token = pasted.trim();
  // Tokens are printable ASCII without spaces; anything else cannot go in the Authorization header.
  if (!/^[\x21-\x7e]+$/.test(token)) throw new Error(t("signin.tokenMalformed"));
  const { viewer } = await gql<ViewerQuery>(VIEWER, {}, token);
  if (!viewer) throw new Error(t("auth.unknownToken"));
  // Only changePassword is open then, and a scoped token is read-only: the holder signs in with the password first.
  if (viewer.passwordChangeRequired) throw new Error(t("signin.tokenPasswordChange"));
  session.set(token, "", viewer, "token");
  return viewer;
}

/** Why a token was refused, by the server's code (signin.tokenError.<CODE>) in the user's language. */
export function tokenErrorText(e: unknown): string {
  if (!(e instanceof GqlError)) return errorText(e);
  const key = `signin.tokenError.${e.code}`;
  return has(key) ? `${t(key)} (${e.code})` : e.display;
}

/** Replace the signed-in user's password (a one-time one first of all); other sessions end. */
export async function changePassword(current: string, next: string): Promise<void> {
  await gql<ChangePasswordMutation, ChangePasswordMutationVariables>(CHANGE_PASSWORD, { c: current, n: next });
  const v = session.viewer;
  const token = session.token;
  if (v && token) {
    session.set(token, session.expiresAt ?? "", { ...v, passwordChangeRequired: false }, session.kind ?? "password");
  }
}

/** Revoke a token; failures are ignored because the token is dropped locally either way. */
export async function revoke(token: string): Promise<void> {
  try {
    await gql<SignOutMutation>(SIGN_OUT, {}, token);
  } catch {
    /* already expired or the server is away: nothing more to do */
  }
}

/** End this tab's session: a password session's token is revoked; a pasted access token is only forgotten here,
 * since its holder uses it again (a regulator's lasts weeks; QA revokes it with revokeScopedToken). */
export async function signOut(): Promise<void> {
  const token = session.token;
  const pasted = session.kind === "token";
  session.clear();
  if (token && !pasted) await revoke(token);
}
