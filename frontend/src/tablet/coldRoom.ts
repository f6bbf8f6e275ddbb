/** Cold-room check: pick the room, read its live state, enter the thermometer reading and door. */

import type { ColdCheckMutation, ColdCheckMutationVariables, ColdRoomCheckFieldsFragment, ColdRoomCheckInput,
  ColdRoomQuery, ColdRoomQueryVariables, RoomTagsSubscription, RoomTagsSubscriptionVariables } from "../api/generated";
import { errorText, gql } from "../api/gql";
import { live } from "../api/live";
import { fmtTime, h } from "../dom";
import { ALARM_FIELDS, needsAck } from "../control/alarms";
import { formatValue, qualityMark } from "../control/floorplan";
import type { PlantIndex, Sensor } from "../control/plant";
import { sendSigned } from "../sign/keyring";
import { signatureLine } from "../ui/ackDialog";
import { errorBox } from "../ui/modal";
import { alarmBadge } from "../ui/symbols";
import { busy, choice, field, refusal } from "./common";

type ColdRoomCheck = ColdRoomCheckFieldsFragment;

const CHECK_FIELDS = /* GraphQL */ `fragment ColdRoomCheckFields on ColdRoomCheck { id roomCode temperature sensorTag
  sensorValue doorClosed activeAlarms conforming checkedBy checkedAt note }`;
const RECORD = /* GraphQL */ `mutation ColdCheck($input: ColdRoomCheckInput!, $signature: SignatureInput!) {
  recordColdRoomCheck(input: $input, signature: $signature) { ...ColdRoomCheckFields }
} ${CHECK_FIELDS}`;
const ROOM_STATE = /* GraphQL */ `query ColdRoom($room: String!) {
  alarms(active: true, filter: { roomCode: $room }, first: 50) { totalCount edges { node { ...AlarmFields } } }
  coldRoomChecks(roomCode: $room, first: 3) { edges { node { ...ColdRoomCheckFields } } }
} ${ALARM_FIELDS} ${CHECK_FIELDS}`;
const UPDATES = /* GraphQL */ `subscription RoomTags($tags: [String!]) { sensorUpdates(tags: $tags) { tag value quality sourceTime } }`;

export function coldRoomScreen(index: PlantIndex, initialRoom: string | null): { el: HTMLElement; dispose(): void } {
  const root = h("section", { class: "tablet-screen", "data-screen": "cold-room" });
  const rooms = index.coldRooms();
  let stopLive: (() => void) | null = null;
  const dispose = () => {
    stopLive?.();
    stopLive = null;
  };

  const form = (roomCode: string | null) => {
    dispose();
    const err = errorBox();
    const liveBox = h("div", { class: "room-live", "data-testid": "room-live" });
    const recent = h("div", { class: "recent-checks" });
    const room = choice("Cold room", rooms.map((r) => ({ value: r.code, text: `${r.code} · ${r.name}` })), roomCode,
      (code) => showRoom(code));
    const temp = h("input", { name: "temperature", type: "text", inputmode: "decimal", autocomplete: "off",
      pattern: "-?[0-9]+([.,][0-9]+)?", placeholder: "e.g. -31.5", "aria-label": "Thermometer reading in °C" });
    // Numeric keypads on tablets often lack a minus key.
    const sign = h("button", { type: "button", class: "sign-toggle", "aria-label": "Toggle minus sign" }, "±");
    sign.addEventListener("click", () => {
      const v = temp.value.trim();
      temp.value = v.startsWith("-") ? v.slice(1) : `-${v}`;
      temp.focus();
    });
    const door = choice<"closed" | "open">("Door", [{ value: "closed", text: "Door closed" }, { value: "open", text: "Door open" }]);
    const note = h("textarea", { name: "note", rows: 2 });
    const submit = h("button", { type: "submit", class: "primary big" }, "Sign and record check");

    const showRoom = (code: string) => {
      stopLive?.();
      const temperature = index.roomTemperature(code);
      const doorSensor = index.roomSensors(code).find((sn) => sn.kind === "door");
      const rows: { sn: Sensor; cell: HTMLElement }[] = [];
      const table = h("dl", { class: "live-values" });
      for (const sn of [temperature, doorSensor].filter((x): x is Sensor => !!x)) {
        const cell = h("dd", { class: "value", "data-tag": sn.tag }, formatValue(sn, sn.value) + qualityMark(sn.quality));
        rows.push({ sn, cell });
        table.append(h("dt", null, `${sn.name} (${sn.tag})`), cell);
      }
      const limits = temperature ? `Limits ${temperature.lowLimit ?? "—"} … ${temperature.highLimit ?? "—"} °C` : "";
      const alarmsBox = h("div", { class: "room-alarms" }, "reading alarms…");
      liveBox.replaceChildren(h("h3", null, `${code}: live`), table, h("p", { class: "muted" }, limits), alarmsBox);
      const tags = rows.map((r) => r.sn.tag);
      if (tags.length) {
        stopLive = live.subscribe<RoomTagsSubscription, RoomTagsSubscriptionVariables>(
          UPDATES, { tags }, (d) => {
            const r = rows.find((x) => x.sn.tag === d.sensorUpdates.tag);
            if (r) r.cell.textContent = formatValue(r.sn, d.sensorUpdates.value) + qualityMark(d.sensorUpdates.quality);
          }, (msg) => err.show(`Live values refused: ${msg}`));
      }
      void gql<ColdRoomQuery, ColdRoomQueryVariables>(ROOM_STATE, { room: code }).then((d) => {
        const list = d.alarms.edges.map((e) => e.node);
        alarmsBox.replaceChildren(list.length
          ? h("div", null, h("strong", null, `${list.length} standing alarm${list.length > 1 ? "s" : ""}`),
            ...list.map((a) => h("div", { class: "details-alarm" }, alarmBadge(a, 20),
              `${a.message}${needsAck(a) ? " (not acknowledged)" : ""}`)))
          : h("span", null, "No standing alarm"));
        recent.replaceChildren(h("h3", null, "Recent checks"), ...(d.coldRoomChecks.edges.length
          ? d.coldRoomChecks.edges.map((e) => checkLine(e.node))
          : [h("p", { class: "muted" }, "None yet.")]));
      }).catch((e) => alarmsBox.replaceChildren(h("span", { class: "error" }, `Alarms not available: ${errorText(e)}`)));
    };

    const f = h("form", { class: "tablet-form" },
      h("h2", null, "Cold-room check"),
      h("div", { class: "field" }, h("span", null, "Room"), room.el),
      liveBox,
      h("label", { class: "field" }, h("span", null, "Thermometer reading (°C)"), h("div", { class: "with-button" }, temp, sign)),
      h("div", { class: "field" }, h("span", null, "Door"), door.el),
      field("Note", note),
      signatureLine("PERFORMED"), err.el, submit, recent);
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      err.clear();
      const code = room.value();
      const t = Number(temp.value.trim().replace(",", "."));
      if (!code) return err.show("Choose the cold room.");
      if (!temp.value.trim() || !Number.isFinite(t)) return err.show("Enter the thermometer reading in °C.");
      if (!door.value()) return err.show("Confirm whether the door is closed.");
      const input: ColdRoomCheckInput = { roomCode: code, temperature: t, doorClosed: door.value() === "closed" };
      if (note.value.trim()) input.note = note.value.trim();
      void busy(submit, "Signing…", async () => {
        const d = await sendSigned<ColdCheckMutation, ColdCheckMutationVariables>({
          operation: "recordColdRoomCheck", document: RECORD, input });
        dispose();
        root.replaceChildren(result(d.recordColdRoomCheck, index, () => root.replaceChildren(form(code))));
      }, (e) => err.show(refusal(e)));
    });
    if (roomCode) showRoom(roomCode);
    else liveBox.append(h("p", { class: "muted" }, rooms.length ? "Choose a room to see its live reading." : "This plant has no cold room."));
    return f;
  };

  root.append(form(initialRoom && rooms.some((r) => r.code === initialRoom) ? initialRoom : null));
  return { el: root, dispose };
}

function checkLine(c: ColdRoomCheck): HTMLElement {
  return h("div", { class: `check-line ${c.conforming ? "" : "nonconforming"}` },
    `${fmtTime(c.checkedAt)} · ${c.temperature} °C · door ${c.doorClosed ? "closed" : "OPEN"} · ${c.checkedBy} · `,
    h("strong", null, c.conforming ? "conforming" : "NOT conforming"));
}

function result(c: ColdRoomCheck, index: PlantIndex, again: () => void): HTMLElement {
  const sn = c.sensorTag ? index.sensors.get(c.sensorTag) : undefined;
  const reasons: string[] = [];
  if (sn && ((sn.highLimit !== null && c.temperature > sn.highLimit) || (sn.lowLimit !== null && c.temperature < sn.lowLimit))) {
    reasons.push(`reading ${c.temperature} °C outside ${sn.lowLimit ?? "—"} … ${sn.highLimit ?? "—"} °C`);
  }
  if (!c.doorClosed) reasons.push("door open");
  if (c.activeAlarms) reasons.push(`${c.activeAlarms} active alarm${c.activeAlarms > 1 ? "s" : ""} in the room`);
  return h("div", { class: `tablet-result ${c.conforming ? "ok" : "bad"}`, role: "status", "data-testid": "cold-check-result",
    "data-conforming": String(c.conforming) },
  h("h2", null, c.conforming ? `✓ ${c.roomCode} check recorded: conforming` : `✗ ${c.roomCode} check recorded: NOT conforming`),
  reasons.length ? h("ul", null, ...reasons.map((r) => h("li", null, r))) : "",
  h("dl", null,
    h("dt", null, "Reading"), h("dd", null, `${c.temperature} °C`),
    h("dt", null, "Room sensor at the check"), h("dd", null, c.sensorValue === null ? "—" : `${c.sensorValue} °C (${c.sensorTag})`),
    h("dt", null, "Door"), h("dd", null, c.doorClosed ? "closed" : "OPEN"),
    h("dt", null, "Checked"), h("dd", null, `${fmtTime(c.checkedAt)} by ${c.checkedBy}`)),
  h("div", { class: "actions" }, h("button", { class: "big primary", onClick: again }, "Another check")));
}
