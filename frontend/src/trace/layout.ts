/**
 * A layered layout for trace graphs: one column per kind in supply-chain order, nodes ordered by
 * the barycentre of their neighbours, and crowded columns folded into a "+N more" node so a batch
 * of 750 donors stays readable.
 */

import type { TraceBackwardQuery } from "../api/generated";
import { has, t } from "../i18n";

/** Both directions select the same fields (trace/view.ts). */
type TraceGraph = TraceBackwardQuery["graph"];
export type TraceNode = TraceGraph["nodes"][number];
export type TraceEdge = TraceGraph["edges"][number];

export const KIND_ORDER = ["STATION", "DONOR", "PLASMA_UNIT", "POOL", "BATCH", "INTERMEDIATE", "FINAL_LOT", "PACKAGING_UNIT"];
/** A node kind as a column title: "Plasma units". */
export function kindText(kind: string): string {
  return has(`trace.kind.${kind}`) ? t(`trace.kind.${kind}`) : kind;
}

export interface PlacedNode {
  id: string;
  /** Null for a folded group. */
  node: TraceNode | null;
  kind: string;
  hidden: number;
  col: number;
  row: number;
  x: number;
  y: number;
}

export interface Layout {
  nodes: PlacedNode[];
  edges: { from: PlacedNode; to: PlacedNode; kind: string }[];
  columns: { kind: string; x: number; total: number }[];
  width: number;
  height: number;
}

export const NODE_W = 176;
export const NODE_H = 36;
const COL_GAP = 74;
const ROW_GAP = 8;
const TOP = 34;

export function layout(nodes: TraceNode[], edges: TraceEdge[], focusCode: string | null, perColumn = 30): Layout {
  const rank = (k: string) => {
    const i = KIND_ORDER.indexOf(k);
    return i < 0 ? KIND_ORDER.length : i;
  };
  const kinds = [...new Set(nodes.map((n) => n.kind))].sort((a, b) => rank(a) - rank(b));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const neighbours = new Map<string, string[]>();
  for (const e of edges) {
    if (!byId.has(e.source) || !byId.has(e.target)) continue;
    (neighbours.get(e.source) ?? neighbours.set(e.source, []).get(e.source)!).push(e.target);
    (neighbours.get(e.target) ?? neighbours.set(e.target, []).get(e.target)!).push(e.source);
  }
  const columns: TraceNode[][] = kinds.map((k) => nodes.filter((n) => n.kind === k).sort((a, b) => a.code.localeCompare(b.code)));
  const pos = new Map<string, number>();
  const order = (col: TraceNode[], ref: Map<string, number>) => {
    const bary = (n: TraceNode) => {
      const ps = (neighbours.get(n.id) ?? []).map((m) => ref.get(m)).filter((v): v is number => v !== undefined);
      return ps.length ? ps.reduce((a, b) => a + b, 0) / ps.length : Number.POSITIVE_INFINITY;
    };
    const keyed = col.map((n, i) => ({ n, k: bary(n), i }));
    keyed.sort((a, b) => (a.k === b.k ? a.i - b.i : a.k - b.k));
    keyed.forEach((x, i) => pos.set(x.n.id, i));
    return keyed.map((x) => x.n);
  };
  columns[0]?.forEach((n, i) => pos.set(n.id, i));
  for (let c = 1; c < columns.length; c++) columns[c] = order(columns[c], pos);
  for (let c = columns.length - 2; c >= 0; c--) columns[c] = order(columns[c], pos);

  const placed = new Map<string, PlacedNode>();
  const out: PlacedNode[] = [];
  const colInfo: Layout["columns"] = [];
  let maxRows = 0;
  columns.forEach((col, c) => {
    const x = c * (NODE_W + COL_GAP);
    colInfo.push({ kind: kinds[c], x, total: col.length });
    let shown = col;
    let folded: TraceNode[] = [];
    if (col.length > perColumn) {
      // Keep the focus node visible, fold the rest beyond the limit.
      const focus = col.find((n) => n.code === focusCode);
      shown = col.slice(0, perColumn - 1);
      if (focus && !shown.includes(focus)) shown = [...shown.slice(0, -1), focus];
      const keep = new Set(shown);
      folded = col.filter((n) => !keep.has(n));
    }
    shown.forEach((n, row) => {
      const p: PlacedNode = { id: n.id, node: n, kind: n.kind, hidden: 0, col: c, row, x, y: TOP + row * (NODE_H + ROW_GAP) };
      placed.set(n.id, p);
      out.push(p);
    });
    if (folded.length) {
      const row = shown.length;
      const group: PlacedNode = { id: `more:${kinds[c]}`, node: null, kind: kinds[c], hidden: folded.length, col: c, row, x,
        y: TOP + row * (NODE_H + ROW_GAP) };
      out.push(group);
      for (const n of folded) placed.set(n.id, group);
    }
    maxRows = Math.max(maxRows, shown.length + (folded.length ? 1 : 0));
  });
  const seen = new Set<string>();
  const outEdges: Layout["edges"] = [];
  for (const e of edges) {
    const from = placed.get(e.source);
    const to = placed.get(e.target);
    if (!from || !to || from === to) continue;
    const key = `${from.id}>${to.id}`;
    if (seen.has(key)) continue;
    seen.add(key);
    outEdges.push({ from, to, kind: e.kind });
  }
  return {
    nodes: out, edges: outEdges, columns: colInfo,
    width: Math.max(1, columns.length) * (NODE_W + COL_GAP) - COL_GAP + 40,
    height: TOP + maxRows * (NODE_H + ROW_GAP) + 10,
  };
}
