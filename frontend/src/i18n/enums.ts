/**
 * The one place a server enum value becomes display text: `enum.<Type>.<VALUE>` in the catalogues,
 * else the raw code. Only the visible text changes: data-* attributes, filters and what is sent or
 * signed keep the raw code. tests/test_enum_catalogue.py checks that every value of every type listed
 * here (from frontend/schema.graphql) has an English and a Chinese label.
 */

import { has, t } from "./index";

/** The schema's enums the views show; `enumLabel` takes only these, so the test's list is the views' list. */
export const VIEW_ENUMS = [
  "AlarmSource", "AlarmState", "BatchStatus", "CameraDeviceType", "CapaKind", "CapaStatus", "CheckResult", "DeviationStatus",
  "DonorStatus", "Effectiveness", "EquipmentStatus", "InstrumentRunKind", "InstrumentRunStatus", "LotStatus",
  "OosConclusion", "OosStatus", "PhaseStatus", "PickingStatus", "PoolStatus", "Priority", "ReportConclusion",
  "ReportStatus", "ResultSource", "ReviewKind", "Rule", "SampleKind", "SignatureMeaning", "SubjectKind",
  "TestRecordStatus", "TestStage", "UnitStatus", "Verdict", "VideoAnalyticsKind", "WellOutcome",
] as const;

export type EnumType = (typeof VIEW_ENUMS)[number];

/** The display text of an enum value in the current language; the code itself when there is none. */
export function enumLabel(type: EnumType, value: string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  const key = `enum.${type}.${value}`;
  return has(key) ? t(key) : value;
}

/** A trace node's status: its type follows the node's kind (resolvers/trace.py); other kinds show the code. */
const TRACE_STATUS: Record<string, EnumType> = {
  DONOR: "DonorStatus", PLASMA_UNIT: "UnitStatus", POOL: "PoolStatus", BATCH: "BatchStatus", FINAL_LOT: "LotStatus",
};

export function traceStatusLabel(kind: string, status: string): string {
  const type = TRACE_STATUS[kind];
  return type ? enumLabel(type, status) : status;
}
