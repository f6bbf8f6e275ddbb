/**
 * Last values of every tag and equipment status, fed by the plantState subscription. Messages
 * only mark what changed; views repaint once per animation frame, touching only those nodes.
 */

import type { PlantStateSubscription, PlantStateSubscriptionVariables } from "../api/generated";
import { live } from "../api/live";
import type { PlantIndex } from "./plant";

export interface TagValue {
  value: number | null;
  quality: string;
  sourceTime: string;
}

export interface Changes {
  tags: ReadonlySet<string>;
  equipment: ReadonlySet<string>;
}

type FrameListener = (c: Changes) => void;

const PLANT_STATE = /* GraphQL */ `subscription PlantState($plantId: ID!, $intervalMs: Int) {
  plantState(plantId: $plantId, intervalMs: $intervalMs) {
    snapshot coalesced
    sensors { tag value quality sourceTime }
    equipment { code status }
  }
}`;

export class LiveStore {
  readonly tags = new Map<string, TagValue>();
  readonly equipment = new Map<string, string>();
  private dirtyTags = new Set<string>();
  private dirtyEquipment = new Set<string>();
  private frame = 0;
  private listeners = new Set<FrameListener>();
  private stop: (() => void) | null = null;
  /** Messages and readings received, for the status line. */
  messages = 0;
  readings = 0;
  lastMessageAt = 0;
  error: string | null = null;

  constructor(private readonly index: PlantIndex) {
    for (const sn of index.sensors.values()) {
      if (sn.quality) this.tags.set(sn.tag, { value: sn.value, quality: sn.quality, sourceTime: sn.sourceTime ?? "" });
    }
    for (const e of index.equipment.values()) this.equipment.set(e.code, e.status);
  }

  start(intervalMs = 250): void {
    this.stop?.();
    const vars: PlantStateSubscriptionVariables = { plantId: this.index.plant.id, intervalMs };
    this.stop = live.subscribe<PlantStateSubscription, PlantStateSubscriptionVariables>(PLANT_STATE, vars,
      (d) => this.apply(d.plantState), (msg) => {
        this.error = msg;
        this.markAll();
      });
  }

  dispose(): void {
    this.stop?.();
    this.stop = null;
    if (this.frame) cancelAnimationFrame(this.frame);
    this.listeners.clear();
  }

  apply(m: PlantStateSubscription["plantState"]): void {
    this.messages++;
    this.lastMessageAt = Date.now();
    this.error = null;
    for (const r of m.sensors) {
      this.readings++;
      this.tags.set(r.tag, { value: r.value, quality: r.quality, sourceTime: r.sourceTime });
      this.dirtyTags.add(r.tag);
    }
    for (const e of m.equipment) {
      if (this.equipment.get(e.code) !== e.status) {
        this.equipment.set(e.code, e.status);
        this.dirtyEquipment.add(e.code);
      }
    }
    this.schedule();
  }

  /** Repaint everything (after a reconnect or a change of presentation). */
  markAll(): void {
    for (const t of this.index.sensors.keys()) this.dirtyTags.add(t);
    for (const e of this.index.equipment.keys()) this.dirtyEquipment.add(e);
    this.schedule();
  }

  onFrame(fn: FrameListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private schedule(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => this.flush());
  }

  private flush(): void {
    this.frame = 0;
    const c: Changes = { tags: this.dirtyTags, equipment: this.dirtyEquipment };
    this.dirtyTags = new Set();
    this.dirtyEquipment = new Set();
    for (const fn of this.listeners) {
      try {
        fn(c);
      } catch (e) {
        console.error("view update failed", e);
      }
    }
  }
}
