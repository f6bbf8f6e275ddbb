/** The signed-in user of this tab: token and viewer, kept in sessionStorage; also how the session was made
 * (a password, or an access token QA issued to a regulator or partner, which only this tab forgets). */

import type { ViewerQuery } from "./generated";

/** The user as the Viewer query answers (`passwordChangeRequired`: signed in with a one-time password). */
export type Viewer = NonNullable<ViewerQuery["viewer"]>;

/** "password": signIn made the token, and signing out revokes it; "token": pasted on the sign-in form (a scoped
 * token issued for weeks), signing out only forgets it here. */
export type SessionKind = "password" | "token";

const KEY = "plasmatwin.session";

interface Stored {
  token: string;
  /** Empty for a pasted token: the Viewer does not tell its end, the server refuses it once it is over. */
  expiresAt: string;
  viewer: Viewer;
  kind?: SessionKind;  // absent: kept by an older build, a password session
}

type Listener = () => void;

class Session {
  private stored: Stored | null = null;
  private listeners = new Set<Listener>();

  constructor() {
    try {
      const raw = sessionStorage.getItem(KEY);
      if (raw) this.stored = JSON.parse(raw) as Stored;
      if (this.stored?.expiresAt && new Date(this.stored.expiresAt).getTime() < Date.now()) this.stored = null;
      // Kept by an older build without the viewer's permissions: sign in again to have them.
      if (this.stored && !Array.isArray(this.stored.viewer?.permissions)) this.stored = null;
    } catch {
      this.stored = null;
    }
  }

  get token(): string | null {
    return this.stored?.token ?? null;
  }

  get viewer(): Viewer | null {
    return this.stored?.viewer ?? null;
  }

  get expiresAt(): string | null {
    return this.stored?.expiresAt ?? null;
  }

  get kind(): SessionKind | null {
    return this.stored ? this.stored.kind ?? "password" : null;
  }

  set(token: string, expiresAt: string, viewer: Viewer, kind: SessionKind = "password"): void {
    this.stored = { token, expiresAt, viewer, kind };
    sessionStorage.setItem(KEY, JSON.stringify(this.stored));
    this.emit();
  }

  clear(): void {
    this.stored = null;
    sessionStorage.removeItem(KEY);
    this.emit();
  }

  onChange(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private emit(): void {
    for (const fn of this.listeners) fn();
  }
}

export const session = new Session();
