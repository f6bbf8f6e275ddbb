/** The signed-in user of this tab: token and viewer, kept in sessionStorage. */

import type { ViewerQuery } from "./generated";

/** The user as the Viewer query answers (`passwordChangeRequired`: signed in with a one-time password). */
export type Viewer = NonNullable<ViewerQuery["viewer"]>;

const KEY = "plasmatwin.session";

interface Stored {
  token: string;
  expiresAt: string;
  viewer: Viewer;
}

type Listener = () => void;

class Session {
  private stored: Stored | null = null;
  private listeners = new Set<Listener>();

  constructor() {
    try {
      const raw = sessionStorage.getItem(KEY);
      if (raw) this.stored = JSON.parse(raw) as Stored;
      if (this.stored && new Date(this.stored.expiresAt).getTime() < Date.now()) this.stored = null;
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

  set(token: string, expiresAt: string, viewer: Viewer): void {
    this.stored = { token, expiresAt, viewer };
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
