/** Sign-in and sign-out through the API; also used for a second person on a shared tablet. */

import type { ChangePasswordMutation, ChangePasswordMutationVariables, SignInMutation, SignInMutationVariables,
  SignOutMutation, ViewerQuery } from "./generated";
import { t } from "../i18n";
import { gql } from "./gql";
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

/** Replace the signed-in user's password (a one-time one first of all); other sessions end. */
export async function changePassword(current: string, next: string): Promise<void> {
  await gql<ChangePasswordMutation, ChangePasswordMutationVariables>(CHANGE_PASSWORD, { c: current, n: next });
  const v = session.viewer;
  const token = session.token;
  if (v && token) session.set(token, session.expiresAt ?? "", { ...v, passwordChangeRequired: false });
}

/** Revoke a token; failures are ignored because the token is dropped locally either way. */
export async function revoke(token: string): Promise<void> {
  try {
    await gql<SignOutMutation>(SIGN_OUT, {}, token);
  } catch {
    /* already expired or the server is away: nothing more to do */
  }
}

export async function signOut(): Promise<void> {
  const token = session.token;
  session.clear();
  if (token) await revoke(token);
}
