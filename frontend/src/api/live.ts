/**
 * The graphql-transport-ws connection: one socket per signed-in tab, reconnecting forever with
 * backoff, a ping watchdog so a dead server is noticed within seconds, and a status others watch
 * (the connection banner, stale marking, re-reading lists after a reconnect).
 */

import { createClient, type Client } from "graphql-ws";
import { GqlError, type Variables } from "./gql";
import { session } from "./session";
import { t } from "../i18n";

/** idle: not started or stopped on purpose (signed out); closed: given up after a fatal error. */
export type LinkState = "idle" | "connecting" | "connected" | "reconnecting" | "closed";

export interface LinkStatus {
  state: LinkState;
  /** Failed attempts since the last successful connection. */
  attempts: number;
  /** Why the last connection ended, when it did. */
  reason: string | null;
  /** Set once a connection succeeded after an earlier one was lost. */
  reconnectedAt: number | null;
}

type StatusListener = (s: LinkStatus) => void;

const PING_EVERY_MS = 4_000;
const PONG_WITHIN_MS = 3_000;

class Live {
  private client: Client | null = null;
  private listeners = new Set<StatusListener>();
  private reconnectListeners = new Set<() => void>();
  status: LinkStatus = { state: "idle", attempts: 0, reason: null, reconnectedAt: null };
  private everConnected = false;
  onUnauthorized: (() => void) | null = null;

  /** Open the socket for the current session (idempotent). */
  start(): void {
    if (this.client) return;
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/graphql`;
    let socket: WebSocket | null = null;
    let pongTimer: number | undefined;
    this.everConnected = false;
    this.set({ state: "connecting", attempts: 0, reason: null, reconnectedAt: null });
    this.client = createClient({
      url,
      lazy: false,
      keepAlive: PING_EVERY_MS,
      retryAttempts: Number.POSITIVE_INFINITY,
      connectionParams: () => ({ authorization: `Bearer ${session.token ?? ""}` }),
      retryWait: async (retries) => {
        const ms = Math.min(500 * 2 ** retries, 5_000) * (0.75 + Math.random() / 2);
        await new Promise((r) => setTimeout(r, ms));
      },
      shouldRetry: (e) => {
        const code = (e as CloseEvent | undefined)?.code;
        if (code === 4401 || code === 4403) {
          this.onUnauthorized?.();
          return false;
        }
        return true;
      },
      onNonLazyError: (e) => {
        if (!this.client) return;
        const ev = e as CloseEvent;
        this.set({ ...this.status, state: "closed", reason: ev?.reason || String(ev?.code ?? e) });
      },
      on: {
        connecting: () => {
          if (this.status.state !== "connected" && this.status.state !== "connecting") {
            this.set({ ...this.status, state: "reconnecting" });
          }
        },
        connected: (s) => {
          socket = s as WebSocket;
          const again = this.everConnected;
          this.everConnected = true;
          this.set({ state: "connected", attempts: 0, reason: null, reconnectedAt: again ? Date.now() : null });
          if (again) for (const fn of this.reconnectListeners) fn();
        },
        ping: (received) => {
          if (received) return;
          window.clearTimeout(pongTimer);
          pongTimer = window.setTimeout(() => {
            // No pong: the server or the network is gone; closing lets the client retry.
            if (socket && socket.readyState === WebSocket.OPEN) socket.close(4408, "Request Timeout");
          }, PONG_WITHIN_MS);
        },
        pong: (received) => {
          if (received) window.clearTimeout(pongTimer);
        },
        closed: (e) => {
          window.clearTimeout(pongTimer);
          socket = null;
          if (!this.client) return;
          const ev = e as CloseEvent;
          const reason = ev?.reason ? `${ev.code} ${ev.reason}` : ev?.code ? t("live.code", { code: ev.code }) : t("live.lost");
          this.set({ state: "reconnecting", attempts: this.status.attempts + 1, reason, reconnectedAt: null });
        },
      },
    });
  }

  stop(): void {
    const c = this.client;
    this.client = null;
    c?.dispose();
    this.set({ state: "idle", attempts: 0, reason: null, reconnectedAt: null });
  }

  /**
   * A subscription that survives reconnects (graphql-ws re-subscribes); returns the unsubscribe.
   * `T` and `V` are the document's generated types, e.g. `subscribe<PlantStateSubscription, ...>`.
   */
  subscribe<T, V extends Variables = Variables>(query: string, variables: V, next: (data: T) => void,
                                                error: (message: string) => void): () => void {
    if (!this.client) this.start();
    return this.client!.subscribe<T>({ query, variables }, {
      next: (r) => {
        if (r.errors?.length) {
          const e = r.errors[0] as { message: string; extensions?: { code?: string } };
          error(new GqlError(e.extensions?.code ?? "ERROR", e.message).display);
        }
        if (r.data) next(r.data as T);
      },
      error: (e) => {
        if (Array.isArray(e)) {
          const first = e[0] as { message: string; extensions?: { code?: string } };
          error(new GqlError(first?.extensions?.code ?? "ERROR", first?.message ?? t("live.refused")).display);
        } else if (e instanceof Error) {
          error(e.message);
        }
        // Close events are the connection's business: the banner shows them and we retry.
      },
      complete: () => undefined,
    });
  }

  onStatus(fn: StatusListener): () => void {
    this.listeners.add(fn);
    fn(this.status);
    return () => this.listeners.delete(fn);
  }

  /** Called after the socket came back: re-read what events may have been missed. */
  onReconnect(fn: () => void): () => void {
    this.reconnectListeners.add(fn);
    return () => this.reconnectListeners.delete(fn);
  }

  private set(s: LinkStatus): void {
    this.status = s;
    for (const fn of this.listeners) fn(s);
  }
}

export const live = new Live();
