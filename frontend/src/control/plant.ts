/** The plant layout as the API gives it, plus lookups the views need. */

import type { PlantsQuery } from "../api/generated";
import { gql } from "../api/gql";
import { t } from "../i18n";

export type Plant = PlantsQuery["plants"][number];
export type Area = Plant["areas"][number];
export type Room = Plant["rooms"][number];
export type Equipment = Room["equipment"][number];
export type Sensor = Room["sensors"][number];

const PLANTS = /* GraphQL */ `query Plants {
  plants {
    id code name width height
    areas { code name roomCodes }
    rooms {
      code name grade areaCode polygon
      equipment { code name kind x y status roomCode }
      sensors { tag name kind unit lowLimit highLimit roomCode equipmentCode value quality sourceTime }
    }
  }
}`;

export class PlantIndex {
  readonly sensors = new Map<string, Sensor>();
  readonly equipment = new Map<string, Equipment>();
  readonly rooms = new Map<string, Room>();

  constructor(readonly plant: Plant) {
    for (const r of plant.rooms) {
      this.rooms.set(r.code, r);
      for (const e of r.equipment) this.equipment.set(e.code, e);
      for (const sn of r.sensors) this.sensors.set(sn.tag, sn);
    }
  }

  sensorsOf(equipmentCode: string): Sensor[] {
    const out: Sensor[] = [];
    for (const sn of this.sensors.values()) if (sn.equipmentCode === equipmentCode) out.push(sn);
    return out;
  }

  /** Sensors of the room itself (not of its equipment). */
  roomSensors(roomCode: string): Sensor[] {
    return (this.rooms.get(roomCode)?.sensors ?? []).filter((sn) => !sn.equipmentCode);
  }

  /** The room's air temperature sensor: the one cold-room checks compare with. */
  roomTemperature(roomCode: string): Sensor | undefined {
    return this.roomSensors(roomCode).filter((sn) => sn.kind === "temperature").sort((a, b) => a.tag.localeCompare(b.tag))[0];
  }

  /** Cold rooms as the server defines them: the room's own air limit at or below 8 °C. */
  coldRooms(): Room[] {
    return this.plant.rooms.filter((r) => {
      const t = this.roomTemperature(r.code);
      return t?.highLimit !== null && t?.highLimit !== undefined && t.highLimit <= 8;
    });
  }
}

export async function loadPlant(): Promise<PlantIndex> {
  const { plants } = await gql<PlantsQuery>(PLANTS);
  if (!plants.length) throw new Error(t("plan.noPlant"));
  return new PlantIndex(plants[0]);
}

/** "0/1" sensors (doors, switches) read as words; never colour alone. */
export function isState(sn: Sensor): boolean {
  return sn.unit === "state";
}

export function stateText(sn: Sensor, v: number | null): string {
  if (v === null) return "—";
  if (sn.kind === "door") return v >= 0.5 ? t("state.open") : t("state.closed");
  return v >= 0.5 ? t("state.on") : t("state.off");
}

export function outOfLimits(sn: Sensor, v: number | null): "HIGH" | "LOW" | null {
  if (v === null) return null;
  if (sn.highLimit !== null && v > sn.highLimit) return "HIGH";
  if (sn.lowLimit !== null && v < sn.lowLimit) return "LOW";
  return null;
}
