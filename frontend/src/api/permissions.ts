/** What the signed-in user may do, as the server listed it with the viewer at sign-in (Viewer.permissions):
 * screens and buttons are shown only when permitted. The server still decides every request. */

import { session } from "./session";

/** Whether the user's roles (and a scoped token's scope) allow `act` on `obj`, e.g. can("plant:alarm", "acknowledge"). */
export function can(obj: string, act: string): boolean {
  return session.viewer?.permissions.includes(`${obj}:${act}`) ?? false;
}

/** Any one of the pairs, each "object:action" (a screen several roles use for different actions). */
export function canAny(...pairs: string[]): boolean {
  const held = session.viewer?.permissions ?? [];
  return pairs.some((p) => held.includes(p));
}
