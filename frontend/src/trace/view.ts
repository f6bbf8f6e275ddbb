/** Trace: a code typed or scanned, drawn backward (to donors) or forward (to packaging codes). */

import type { TraceBackwardQuery, TraceBackwardQueryVariables, TraceForwardQuery,
  TraceForwardQueryVariables } from "../api/generated";
import { errorText, gql } from "../api/gql";
import { h, s } from "../dom";
import { kindText, layout, NODE_H, NODE_W, type Layout, type PlacedNode, type TraceEdge, type TraceNode } from "./layout";
import { t } from "../i18n";
import { traceStatusLabel } from "../i18n/enums";

type Direction = "backward" | "forward";

// The same selection twice, not a fragment: the server's fast path for traces declines fragments.
const QUERY: Record<Direction, string> = {
  backward: /* GraphQL */ `query TraceBackward($code: String!, $maxNodes: Int!) {
  graph: traceBackward(code: $code, maxNodes: $maxNodes) {
    nodes { id kind code label status } edges { source target kind } summary { kind count } truncated
  }
}`,
  forward: /* GraphQL */ `query TraceForward($code: String!, $maxNodes: Int!) {
  graph: traceForward(code: $code, maxNodes: $maxNodes) {
    nodes { id kind code label status } edges { source target kind } summary { kind count } truncated
  }
}`,
};

/** Statuses that need a look: shown with a marker and outline, not colour alone. */
const ATTENTION = /DEFER|BLOCK|REJECT|RECALL|QUARANTINE|MISSING|FAIL|HOLD|DESTROY/i;
/** What a forward trace may start from: every code the server looks up (stations and intermediates are not codes one traces). */
const START_KINDS = new Set(["DONOR", "PLASMA_UNIT", "POOL", "BATCH", "FINAL_LOT", "PACKAGING_UNIT"]);
/** Kinds the filter offers, in supply-chain order; others in a graph are listed after them. */
const FILTER_KINDS = ["DONOR", "PLASMA_UNIT", "POOL", "BATCH", "INTERMEDIATE", "FINAL_LOT", "PACKAGING_UNIT", "STATION"];

function params(): { code: string; dir: Direction } {
  const q = new URLSearchParams(location.hash.split("?")[1] ?? "");
  return { code: q.get("code") ?? "", dir: q.get("dir") === "forward" ? "forward" : "backward" };
}

export function mountTrace(root: HTMLElement): () => void {
  const start = params();
  const input = h("input", {
    type: "text", name: "code", value: start.code, autocomplete: "off", spellcheck: "false",
    placeholder: t("trace.placeholder"), "aria-label": t("trace.codeLabel"),
  });
  const dirBackward = h("input", { type: "radio", name: "dir", value: "backward", checked: start.dir === "backward" });
  const dirForward = h("input", { type: "radio", name: "dir", value: "forward", checked: start.dir === "forward" });
  const go = h("button", { type: "submit", class: "primary" }, t("trace.submit"));
  const status = h("div", { class: "trace-status", role: "status" });
  const canvas = h("div", { class: "trace-canvas", "data-testid": "trace-graph" });
  const info = h("aside", { class: "trace-info", "data-testid": "trace-info" });
  const kinds = h("fieldset", { class: "trace-kinds", "data-testid": "trace-kinds" });
  const fit = h("button", { type: "button", class: "small", "data-testid": "trace-fit", "aria-pressed": "false",
    onClick: () => setFit(!fitted) }, t("trace.fit"));
  const toolbar = h("div", { class: "trace-toolbar", hidden: true }, fit, kinds);
  const form = h("form", { class: "trace-form" }, input,
    h("label", { class: "inline" }, dirBackward, t("trace.backwardLabel")),
    h("label", { class: "inline" }, dirForward, t("trace.forwardLabel")), go);
  root.replaceChildren(h("div", { class: "trace-view" },
    h("h1", null, t("trace.title")), form, status, toolbar, h("div", { class: "trace-body" }, canvas, info)));

  /** The canvas with a message and what to do next: before any trace and when a trace finds nothing. */
  const empty = (title: string, hint: string) => {
    toolbar.hidden = true;
    canvas.replaceChildren(h("div", { class: "trace-empty", "data-testid": "trace-empty" },
      h("h2", null, title), h("p", { class: "muted" }, hint)));
  };
  const clearInfo = () => info.replaceChildren(h("p", { class: "muted" }, t("trace.clickNode")));

  let seq = 0;
  let graph: { nodes: TraceNode[]; edges: TraceEdge[]; code: string } | null = null;
  const hidden = new Set<string>();
  let fitted = false;

  const setFit = (on: boolean) => {
    fitted = on;
    fit.textContent = on ? t("trace.actualSize") : t("trace.fit");
    fit.setAttribute("aria-pressed", String(on));
    canvas.classList.toggle("fit", on);
    const svg = canvas.querySelector<SVGSVGElement>("svg.trace-svg");
    if (!svg) return;
    // Fitted: the whole graph scaled into the canvas (viewBox, aspect kept); else drawn at its own size.
    svg.setAttribute("width", on ? String(Math.max(1, canvas.clientWidth - 2)) : svg.dataset.width ?? "");
    svg.setAttribute("height", on ? String(Math.max(1, canvas.clientHeight - 2)) : svg.dataset.height ?? "");
  };

  const redraw = () => {
    if (!graph) return;
    const nodes = graph.nodes.filter((n) => !hidden.has(n.kind));
    clearInfo();
    if (!nodes.length) {
      canvas.replaceChildren(h("div", { class: "trace-empty", "data-testid": "trace-empty" },
        h("p", { class: "muted" }, t("trace.allFiltered"))));
      return;
    }
    const ids = new Set(nodes.map((n) => n.id));
    const edges = graph.edges.filter((e) => ids.has(e.source) && ids.has(e.target));
    canvas.replaceChildren(draw(layout(nodes, edges, graph.code), graph.code, (p) => showInfo(p)));
    setFit(fitted);
  };

  const showKinds = (present: Map<string, number>) => {
    const order = [...FILTER_KINDS.filter((k) => present.has(k)), ...[...present.keys()].filter((k) => !FILTER_KINDS.includes(k))];
    kinds.replaceChildren(h("legend", null, t("trace.showKinds")), ...order.map((k) => {
      const box = h("input", { type: "checkbox", name: "kind", value: k, checked: !hidden.has(k) });
      box.addEventListener("change", () => {
        if (box.checked) hidden.delete(k);
        else hidden.add(k);
        redraw();
      });
      return h("label", { "data-kind": k }, box, `${kindText(k)} (${present.get(k)})`);
    }));
    toolbar.hidden = false;
  };

  const run = async (code: string, dir: Direction) => {
    code = code.trim();
    if (!code) {
      status.textContent = t("trace.needCode");
      return;
    }
    const mine = ++seq;
    history.replaceState(null, "", `#/trace?code=${encodeURIComponent(code)}&dir=${dir}`);
    status.className = "trace-status";
    status.textContent = t("trace.tracing", { code, dir: t(`trace.dir.${dir}`) });
    canvas.replaceChildren();
    toolbar.hidden = true;
    graph = null;
    clearInfo(); // the last trace's node is not this one's
    go.disabled = true;
    try {
      const d = await gql<TraceBackwardQuery | TraceForwardQuery,
        TraceBackwardQueryVariables | TraceForwardQueryVariables>(QUERY[dir], { code, maxNodes: 2000 });
      if (mine !== seq) return;
      const g = d.graph;
      const counts = g.summary.map((c) => `${c.count} ${kindText(c.kind).toLowerCase()}`).join(" · ");
      status.replaceChildren(h("strong", null, `${code} ${t(`trace.dir.${dir}`)}: `), counts || t("trace.nothing"),
        g.truncated ? h("span", { class: "warn" }, t("trace.truncated", { n: g.nodes.length })) : "");
      if (!g.nodes.length) {
        empty(t("trace.noNodes"), t("trace.noNodesHint"));
        return;
      }
      graph = { nodes: g.nodes, edges: g.edges, code };
      const present = new Map<string, number>();
      for (const n of g.nodes) present.set(n.kind, (present.get(n.kind) ?? 0) + 1);
      showKinds(present);
      redraw();
    } catch (e) {
      if (mine !== seq) return;
      status.className = "trace-status error";
      status.textContent = t("trace.refused", { error: errorText(e) });
      empty(t("trace.failedTitle"), t("trace.emptyHint"));
      clearInfo();
    } finally {
      if (mine === seq) go.disabled = false;
    }
  };

  const showInfo = (p: PlacedNode) => {
    if (!p.node) {
      info.replaceChildren(h("h3", null, kindText(p.kind)),
        h("p", null, t("trace.moreNotDrawn", { n: p.hidden })));
      return;
    }
    const n = p.node;
    const traceFrom = (dir: Direction) => {
      input.value = n.code;
      (dir === "forward" ? dirForward : dirBackward).checked = true;
      void run(n.code, dir);
    };
    info.replaceChildren(
      h("h3", null, n.code),
      h("dl", null, h("dt", null, t("review.col.kind")), h("dd", null, kindText(n.kind)),
        h("dt", null, t("trace.label")), h("dd", null, n.label), h("dt", null, t("details.status")), h("dd", null, n.status ? traceStatusLabel(n.kind, n.status) : "—")),
      h("div", { class: "actions" },
        h("button", { onClick: () => traceFrom("backward") }, t("trace.fromHereBackward")),
        START_KINDS.has(n.kind) ? h("button", { onClick: () => traceFrom("forward") }, t("trace.fromHereForward")) : ""));
  };

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    void run(input.value, dirForward.checked ? "forward" : "backward");
  });
  clearInfo();
  empty(t("trace.emptyTitle"), t("trace.emptyHint"));
  if (start.code) void run(start.code, start.dir);
  setTimeout(() => input.focus(), 0);
  // A fitted graph follows the window's size.
  const resized = new ResizeObserver(() => {
    if (fitted) setFit(true);
  });
  resized.observe(canvas);
  return () => {
    seq++;
    resized.disconnect();
  };
}

function draw(l: Layout, focus: string, onPick: (p: PlacedNode) => void): SVGSVGElement {
  const svg = s("svg", { class: "trace-svg", width: l.width, height: l.height, viewBox: `-10 0 ${l.width} ${l.height}`,
    role: "img", "aria-label": t("trace.graph"), "data-width": l.width, "data-height": l.height });
  for (const c of l.columns) {
    svg.append(s("text", { class: "col-title", x: c.x, y: 16 }, `${kindText(c.kind)} (${c.total})`));
  }
  const edges = s("g", { class: "edges" });
  for (const e of l.edges) {
    const [a, b] = e.from.col <= e.to.col ? [e.from, e.to] : [e.to, e.from];
    const y1 = a.y + NODE_H / 2;
    const y2 = b.y + NODE_H / 2;
    let d: string;
    if (a.col === b.col) {
      const x = a.x + NODE_W;
      d = `M${x},${y1} C${x + 30},${y1} ${x + 30},${y2} ${x},${y2}`;
    } else {
      const x1 = a.x + NODE_W;
      const x2 = b.x;
      const mx = (x1 + x2) / 2;
      d = `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
    }
    edges.append(s("path", { d, class: `edge edge-${e.kind}` }));
  }
  svg.append(edges);
  const nodes = s("g", { class: "nodes" });
  for (const p of l.nodes) {
    const n = p.node;
    const attention = !!n?.status && ATTENTION.test(n.status);
    const cls = ["tnode", `k-${p.kind}`, n ? "" : "folded", n?.code === focus ? "focus" : "", attention ? "attention" : ""].join(" ");
    const g = s("g", { class: cls, transform: `translate(${p.x},${p.y})`, tabindex: 0, role: "button",
      "data-kind": p.kind, "data-code": n?.code ?? "" },
    s("rect", { width: NODE_W, height: NODE_H, rx: 4 }),
    s("text", { x: 8, y: 15, class: "tnode-code" }, n ? n.code : t("trace.more", { n: p.hidden })),
    s("text", { x: 8, y: 29, class: "tnode-label" },
      n ? `${n.label}${n.status ? ` · ${traceStatusLabel(n.kind, n.status)}` : ""}`.slice(0, 27) : (kindText(p.kind)).toLowerCase()));
    if (attention) g.append(s("text", { x: NODE_W - 8, y: 15, class: "tnode-flag", "text-anchor": "end" }, "!"));
    g.addEventListener("click", () => onPick(p));
    g.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") onPick(p);
    });
    nodes.append(g);
  }
  svg.append(nodes);
  return svg;
}
