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
import { t } from "../i18n";

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
    const room = choice(t("tablet.tab.cold"), rooms.map((r) => ({ value: r.code, text: `${r.code} · ${r.name}` })), roomCode,
      (code) => showRoom(code));
    const temp = h("input", { name: "temperature", type: "text", inputmode: "decimal", autocomplete: "off",
      pattern: "-?[0-9]+([.,][0-9]+)?", placeholder: t("cold.tempPlaceholder"), "aria-label": t("cold.tempLabel") });
    // Numeric keypads on tablets often lack a minus key.
    const sign = h("button", { type: "button", class: "sign-toggle", "aria-label": t("cold.minus") }, "±");
    sign.addEventListener("click", () => {
      const v = temp.value.trim();
      temp.value = v.startsWith("-") ? v.slice(1) : `-${v}`;
      temp.focus();
    });
    const door = choice<"closed" | "open">(t("cold.door"), [{ value: "closed", text: t("cold.doorClosed") }, { value: "open", text: t("cold.doorOpen") }]);
    const note = h("textarea", { name: "note", rows: 2 });
    const submit = h("button", { type: "submit", class: "primary big" }, t("cold.submit"));

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
      const limits = temperature ? t("cold.limits", { low: temperature.lowLimit ?? "—", high: temperature.highLimit ?? "—" }) : "";
      const alarmsBox = h("div", { class: "room-alarms" }, t("cold.readingAlarms"));
      liveBox.replaceChildren(h("h3", null, t("cold.live", { room: code })), table, h("p", { class: "muted" }, limits), alarmsBox);
      const tags = rows.map((r) => r.sn.tag);
      if (tags.length) {
        stopLive = live.subscribe<RoomTagsSubscription, RoomTagsSubscriptionVariables>(
          UPDATES, { tags }, (d) => {
            const r = rows.find((x) => x.sn.tag === d.sensorUpdates.tag);
            if (r) r.cell.textContent = formatValue(r.sn, d.sensorUpdates.value) + qualityMark(d.sensorUpdates.quality);
          }, (msg) => err.show(t("control.liveRefused", { error: msg })));
      }
      void gql<ColdRoomQuery, ColdRoomQueryVariables>(ROOM_STATE, { room: code }).then((d) => {
        const list = d.alarms.edges.map((e) => e.node);
        alarmsBox.replaceChildren(list.length
          ? h("div", null, h("strong", null, t(list.length > 1 ? "cold.alarmsMany" : "cold.alarmsOne", { n: list.length })),
            ...list.map((a) => h("div", { class: "details-alarm" }, alarmBadge(a, 20),
              `${a.message}${needsAck(a) ? t("cold.notAcked") : ""}`)))
          : h("span", null, t("cold.noAlarm")));
        recent.replaceChildren(h("h3", null, t("cold.recent")), ...(d.coldRoomChecks.edges.length
          ? d.coldRoomChecks.edges.map((e) => checkLine(e.node))
          : [h("p", { class: "muted" }, t("cold.noneYet"))]));
      }).catch((e) => alarmsBox.replaceChildren(h("span", { class: "error" }, t("cold.alarmsFailed", { error: errorText(e) }))));
    };

    const f = h("form", { class: "tablet-form" },
      h("h2", null, t("cold.title")),
      h("div", { class: "field" }, h("span", null, t("alarms.col.room")), room.el),
      liveBox,
      h("label", { class: "field" }, h("span", null, t("cold.reading")), h("div", { class: "with-button" }, temp, sign)),
      h("div", { class: "field" }, h("span", null, t("cold.door")), door.el),
      field(t("common.note"), note),
      signatureLine("PERFORMED"), err.el, submit, recent);
    f.addEventListener("submit", (ev) => {
      ev.preventDefault();
      err.clear();
      const code = room.value();
      const reading = Number(temp.value.trim().replace(",", "."));
      if (!code) return err.show(t("cold.chooseRoom"));
      if (!temp.value.trim() || !Number.isFinite(reading)) return err.show(t("cold.enterReading"));
      if (!door.value()) return err.show(t("cold.confirmDoor"));
      const input: ColdRoomCheckInput = { roomCode: code, temperature: reading, doorClosed: door.value() === "closed" };
      if (note.value.trim()) input.note = note.value.trim();
      void busy(submit, t("sign.signing"), async () => {
        const d = await sendSigned<ColdCheckMutation, ColdCheckMutationVariables>({
          operation: "recordColdRoomCheck", document: RECORD, input });
        dispose();
        root.replaceChildren(result(d.recordColdRoomCheck, index, () => root.replaceChildren(form(code))));
      }, (e) => err.show(refusal(e)));
    });
    if (roomCode) showRoom(roomCode);
    else liveBox.append(h("p", { class: "muted" }, rooms.length ? t("cold.chooseToSee") : t("cold.noColdRoom")));
    return f;
  };

  root.append(form(initialRoom && rooms.some((r) => r.code === initialRoom) ? initialRoom : null));
  return { el: root, dispose };
}

function checkLine(c: ColdRoomCheck): HTMLElement {
  return h("div", { class: `check-line ${c.conforming ? "" : "nonconforming"}` },
    t("cold.line", { time: fmtTime(c.checkedAt), temp: c.temperature, door: c.doorClosed ? t("state.closed") : t("state.open"), by: c.checkedBy }),
    h("strong", null, c.conforming ? t("cold.conforming") : t("cold.notConforming")));
}

function result(c: ColdRoomCheck, index: PlantIndex, again: () => void): HTMLElement {
  const sn = c.sensorTag ? index.sensors.get(c.sensorTag) : undefined;
  const reasons: string[] = [];
  if (sn && ((sn.highLimit !== null && c.temperature > sn.highLimit) || (sn.lowLimit !== null && c.temperature < sn.lowLimit))) {
    reasons.push(t("cold.outside", { temp: c.temperature, low: sn.lowLimit ?? "—", high: sn.highLimit ?? "—" }));
  }
  if (!c.doorClosed) reasons.push(t("cold.reasonDoor"));
  if (c.activeAlarms) reasons.push(t(c.activeAlarms > 1 ? "cold.reasonAlarmsMany" : "cold.reasonAlarmsOne", { n: c.activeAlarms }));
  return h("div", { class: `tablet-result ${c.conforming ? "ok" : "bad"}`, role: "status", "data-testid": "cold-check-result",
    "data-conforming": String(c.conforming) },
  h("h2", null, c.conforming ? t("cold.recordedOk", { room: c.roomCode }) : t("cold.recordedBad", { room: c.roomCode })),
  reasons.length ? h("ul", null, ...reasons.map((r) => h("li", null, r))) : "",
  h("dl", null,
    h("dt", null, t("cold.readingShort")), h("dd", null, `${c.temperature} °C`),
    h("dt", null, t("cold.sensorAtCheck")), h("dd", null, c.sensorValue === null ? "—" : `${c.sensorValue} °C (${c.sensorTag})`),
    h("dt", null, t("cold.door")), h("dd", null, c.doorClosed ? t("state.closed") : t("state.open")),
    h("dt", null, t("cold.checked")), h("dd", null, t("common.atBy", { time: fmtTime(c.checkedAt), by: c.checkedBy }))),
  h("div", { class: "actions" }, h("button", { class: "big primary", onClick: again }, t("cold.another"))));
}
