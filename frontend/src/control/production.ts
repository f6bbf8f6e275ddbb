/**
 * What production runs where, for the map and the room panel: the running phases, read again when
 * an equipment item changes status (a phase starting or ending moves its equipment to RUNNING or
 * IDLE), after a reconnect, and every 30 s. A user without the right to read phases sees none.
 */

import type { RunningQuery } from "../api/generated";
import { gql } from "../api/gql";
import { live } from "../api/live";
import type { LiveStore } from "./store";

export type RunningPhase = RunningQuery["runningPhases"][number];

const RUNNING = /* GraphQL */ `query Running {
  runningPhases { batchNumber product phaseCode phaseName equipmentCode roomCode startedAt startedBy }
}`;

export class Production {
  phases: RunningPhase[] = [];
  private listeners = new Set<() => void>();
  private timer = 0;
  private pending = 0;
  private offFrame: () => void;
  private offReconnect: () => void;

  constructor(store: LiveStore) {
    this.offFrame = store.onFrame((c) => {
      if (c.equipment.size) this.soon();
    });
    this.offReconnect = live.onReconnect(() => this.soon());
    this.timer = window.setInterval(() => void this.load(), 30_000);
    void this.load();
  }

  inRoom(roomCode: string): RunningPhase[] {
    return this.phases.filter((p) => p.roomCode === roomCode);
  }

  /** One line per room: batch and phase, "+n" when more run there. */
  byRoom(): Map<string, string> {
    const out = new Map<string, string>();
    for (const p of this.phases) {
      const more = this.inRoom(p.roomCode).length - 1;
      if (!out.has(p.roomCode)) out.set(p.roomCode, `${p.batchNumber} ${p.phaseCode}${more ? ` +${more}` : ""}`);
    }
    return out;
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  dispose(): void {
    window.clearInterval(this.timer);
    window.clearTimeout(this.pending);
    this.offFrame();
    this.offReconnect();
    this.listeners.clear();
  }

  private soon(): void {
    window.clearTimeout(this.pending);
    this.pending = window.setTimeout(() => void this.load(), 300);
  }

  private async load(): Promise<void> {
    try {
      this.phases = (await gql<RunningQuery>(RUNNING)).runningPhases;
    } catch {
      this.phases = []; // no right to read phases, or the server away: the map shows none
    }
    for (const fn of this.listeners) fn();
  }
}
