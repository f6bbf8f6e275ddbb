/** Standing alarms: the list read once (and after every reconnect), then kept by alarmEvents. */

import type { AckAllMutation, AckAllMutationVariables, AckMutation, AckMutationVariables, AlarmEventsSubscription, AlarmFieldsFragment,
  AlarmShelvesQuery, ShelfFieldsFragment, ShelveAlarmMutation, ShelveAlarmMutationVariables, StandingAlarmsQuery,
  UnshelveAlarmMutation, UnshelveAlarmMutationVariables } from "../api/generated";
import { errorText, gql } from "../api/gql";
import { t } from "../i18n";
import { live } from "../api/live";
import { can } from "../api/permissions";
import { sendSigned } from "../sign/keyring";

/** The priorities the server raises; the schema types `Alarm.priority` as a String. */
export type Priority = "CRITICAL" | "HIGH" | "MEDIUM" | "LOW";

export type Alarm = AlarmFieldsFragment;

/** Every document that reads alarms appends this fragment, so all of them read the same fields. */
export const ALARM_FIELDS = /* GraphQL */ `fragment AlarmFields on Alarm { id source condition priority state tag
  roomCode equipmentCode cameraCode message value limitValue peak beganAt raisedAt clearedAt acknowledgedAt
  acknowledgedBy handling }`;

export const RANK: Record<string, number> = { CRITICAL: 4, HIGH: 3, MEDIUM: 2, LOW: 1 } satisfies Record<Priority, number>;
/** ISA-101 style: the priority's number is printed in its shape, so colour is never alone. */
export const PRIORITY_NUMBER: Record<string, string> =
  { CRITICAL: "1", HIGH: "2", MEDIUM: "3", LOW: "4" } satisfies Record<Priority, string>;

export function needsAck(a: Alarm): boolean {
  return a.state === "ACTIVE" || a.state === "CLEARED";
}

/** Needs acknowledging and this user may do it (plant:alarm acknowledge): where Acknowledge buttons show. */
export function ackable(a: Alarm): boolean {
  return needsAck(a) && can("plant:alarm", "acknowledge");
}

/** Higher priority first, then unacknowledged first, then newest first. */
export function compareAlarms(a: Alarm, b: Alarm): number {
  return RANK[b.priority] - RANK[a.priority]
    || Number(needsAck(b)) - Number(needsAck(a))
    || b.raisedAt.localeCompare(a.raisedAt);
}

const LIST = /* GraphQL */ `query StandingAlarms {
  alarms(active: true, first: 500) { totalCount edges { node { ...AlarmFields } } }
} ${ALARM_FIELDS}`;
const EVENTS = /* GraphQL */ `subscription AlarmEvents { alarmEvents { kind alarm { ...AlarmFields } } } ${ALARM_FIELDS}`;
const ACK = /* GraphQL */ `mutation Ack($input: AcknowledgeAlarmInput!, $signature: SignatureInput!) {
  acknowledgeAlarm(input: $input, signature: $signature) { ...AlarmFields }
} ${ALARM_FIELDS}`;

const ACK_ALL = /* GraphQL */ `mutation AckAll($input: AcknowledgeAlarmsInput!, $signature: SignatureInput!) {
  acknowledgeAlarms(input: $input, signature: $signature) { ...AlarmFields }
} ${ALARM_FIELDS}`;

/** A tag's limit alarms shelved with a reason until a time (ISA-18.2), as alarmShelves returns it. */
export type AlarmShelf = ShelfFieldsFragment;

/** The server's limit (resolvers/alarm_shelves.py MAX_MINUTES): a shelf lasts at most 12 hours. */
export const MAX_SHELF_MINUTES = 12 * 60;

/** Roles that may shelve (plant:alarm shelve): where Shelve buttons show. */
export function canShelve(): boolean {
  return can("plant:alarm", "shelve");
}

/** Roles that may end a shelf early (plant:alarm unshelve): QA too, as oversight, though QA does not shelve. */
export function canUnshelve(): boolean {
  return can("plant:alarm", "unshelve");
}

const SHELF_FIELDS = /* GraphQL */ `fragment ShelfFields on AlarmShelf { id tag reason shelvedBy shelvedAt until endedAt endedBy }`;
const SHELVES = /* GraphQL */ `query AlarmShelves { alarmShelves(active: true) { ...ShelfFields } } ${SHELF_FIELDS}`;
const SHELVE = /* GraphQL */ `mutation ShelveAlarm($input: ShelveAlarmInput!, $signature: SignatureInput!) {
  shelveAlarm(input: $input, signature: $signature) { ...ShelfFields }
} ${SHELF_FIELDS}`;
const UNSHELVE = /* GraphQL */ `mutation UnshelveAlarm($input: UnshelveAlarmInput!, $signature: SignatureInput!) {
  unshelveAlarm(input: $input, signature: $signature) { ...ShelfFields }
} ${SHELF_FIELDS}`;

type Listener = () => void;

export class AlarmStore {
  readonly alarms = new Map<number, Alarm>();
  /** The tags shelved now, by tag. */
  readonly shelves = new Map<string, AlarmShelf>();
  loaded = false;
  error: string | null = null;
  shelvesError: string | null = null;
  private queue: Alarm[] | null = null;
  private listeners = new Set<Listener>();
  private stops: (() => void)[] = [];
  private pending = 0;

  start(): void {
    this.stops.push(live.subscribe<AlarmEventsSubscription>(EVENTS, {},
      (d) => this.event(d.alarmEvents.alarm), (msg) => this.fail(msg)));
    this.stops.push(live.onReconnect(() => {
      void this.reload();
      void this.reloadShelves();
    }));
    // Re-read now and then as well: an event raised before the subscription was in place is
    // never lost for longer than this. Shelves have no events: others' shelves show within this too.
    const timer = window.setInterval(() => {
      void this.reload();
      void this.reloadShelves();
    }, 60_000);
    // A shelf that runs out leaves the screen when it ends, not at the next read.
    const expiry = window.setInterval(() => this.dropExpired(), 5_000);
    this.stops.push(() => window.clearInterval(timer), () => window.clearInterval(expiry));
    void this.reload();
    void this.reloadShelves();
  }

  dispose(): void {
    for (const s of this.stops) s();
    this.stops = [];
    this.listeners.clear();
  }

  async reload(): Promise<void> {
    this.queue = [];
    try {
      const d = await gql<StandingAlarmsQuery>(LIST);
      this.alarms.clear();
      for (const e of d.alarms.edges) this.alarms.set(e.node.id, e.node);
      const queued = this.queue ?? [];
      this.queue = null;
      for (const a of queued) this.put(a);
      this.loaded = true;
      this.error = null;
    } catch (e) {
      this.queue = null;
      this.fail(t("alarms.listFailed", { error: errorText(e) }));
      return;
    }
    this.changed();
  }

  async reloadShelves(): Promise<void> {
    try {
      const d = await gql<AlarmShelvesQuery>(SHELVES);
      this.shelves.clear();
      for (const x of d.alarmShelves) this.shelves.set(x.tag, x);
      this.shelvesError = null;
    } catch (e) {
      this.shelvesError = t("shelf.listFailed", { error: errorText(e) });
    }
    this.changed();
  }

  /** The tag's shelf if it is shelved now. */
  shelfOf(tag: string | null): AlarmShelf | undefined {
    const x = tag ? this.shelves.get(tag) : undefined;
    return x && !x.endedAt && new Date(x.until).getTime() > Date.now() ? x : undefined;
  }

  /** Shelved now, the soonest to end first. */
  shelved(): AlarmShelf[] {
    return [...this.shelves.values()].filter((x) => this.shelfOf(x.tag)).sort((a, b) => a.until.localeCompare(b.until));
  }

  /** Shelve a tag's limit alarms for `minutes` with a reason, signed PERFORMED by the current user. */
  async shelve(tag: string, minutes: number, reason: string): Promise<AlarmShelf> {
    const d = await sendSigned<ShelveAlarmMutation, ShelveAlarmMutationVariables>({
      operation: "shelveAlarm", document: SHELVE, input: { tag, minutes, reason }, meaning: "PERFORMED",
    });
    this.shelves.set(d.shelveAlarm.tag, d.shelveAlarm);
    this.changed();
    return d.shelveAlarm;
  }

  /** End a tag's shelf early with a reason, signed PERFORMED; an excursion held back is raised within seconds. */
  async unshelve(tag: string, reason: string): Promise<AlarmShelf> {
    const d = await sendSigned<UnshelveAlarmMutation, UnshelveAlarmMutationVariables>({
      operation: "unshelveAlarm", document: UNSHELVE, input: { tag, reason }, meaning: "PERFORMED",
    });
    this.shelves.delete(tag);
    this.changed();
    return d.unshelveAlarm;
  }

  standing(): Alarm[] {
    return [...this.alarms.values()].filter((a) => a.state !== "CLOSED").sort(compareAlarms);
  }

  /** Highest standing priority per room, equipment and tag, for the floor plan. */
  worst(): { rooms: Map<string, Alarm>; equipment: Map<string, Alarm>; tags: Map<string, Alarm> } {
    const rooms = new Map<string, Alarm>();
    const equipment = new Map<string, Alarm>();
    const tags = new Map<string, Alarm>();
    const keep = (m: Map<string, Alarm>, k: string | null, a: Alarm) => {
      if (!k) return;
      const cur = m.get(k);
      if (!cur || compareAlarms(a, cur) < 0) m.set(k, a);
    };
    for (const a of this.standing()) {
      keep(rooms, a.roomCode, a);
      keep(equipment, a.equipmentCode, a);
      keep(tags, a.tag, a);
    }
    return { rooms, equipment, tags };
  }

  onChange(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Acknowledge several alarms with one signature, all or none (a flood handled as one event). */
  async acknowledgeMany(ids: number[], handling: string): Promise<Alarm[]> {
    const d = await sendSigned<AckAllMutation, AckAllMutationVariables>({
      operation: "acknowledgeAlarms", document: ACK_ALL, input: { ids, handling }, meaning: "ACKNOWLEDGED",
    });
    for (const a of d.acknowledgeAlarms) this.put(a);
    this.changed();
    return d.acknowledgeAlarms;
  }

  /** Acknowledge with the current user's signature; the returned alarm replaces ours at once. */
  async acknowledge(id: number, handling: string): Promise<Alarm> {
    const d = await sendSigned<AckMutation, AckMutationVariables>({
      operation: "acknowledgeAlarm", document: ACK, input: { id, handling }, meaning: "ACKNOWLEDGED",
    });
    this.put(d.acknowledgeAlarm);
    this.changed();
    return d.acknowledgeAlarm;
  }

  private event(a: Alarm): void {
    if (this.queue) {
      this.queue.push(a);
      return;
    }
    this.put(a);
    this.changed();
  }

  private put(a: Alarm): void {
    if (a.state === "CLOSED") this.alarms.delete(a.id);
    else this.alarms.set(a.id, a);
  }

  private dropExpired(): void {
    const ended = [...this.shelves.keys()].filter((tag) => !this.shelfOf(tag));
    for (const tag of ended) this.shelves.delete(tag);
    if (ended.length) this.changed();
  }

  private fail(msg: string): void {
    this.error = msg;
    this.changed();
  }

  /** Listeners run once per frame however many events arrived. */
  private changed(): void {
    if (this.pending) return;
    this.pending = requestAnimationFrame(() => {
      this.pending = 0;
      for (const fn of this.listeners) fn();
    });
  }
}
