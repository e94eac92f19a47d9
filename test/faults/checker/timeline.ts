/**
 * Renders a history as one self-contained HTML file (inline SVG and CSS, no scripts or network): one
 * lane per client, a bar per operation from invocation to completion coloured by outcome, unknown
 * operations trailing off to show they stay open, fault intervals shaded across all lanes, and a hover
 * title on everything with the details.
 */
import type { FaultInterval, Operation } from './history.js';
import { describeOperation } from './history.js';

export interface TimelineOptions {
  readonly title?: string;
  /** Operations to outline, e.g. the minimal failing sub-history. */
  readonly highlightIds?: ReadonlySet<number>;
  /** Width of the time axis in px; by default 2 px per ms, clamped to [1000, 20000]. */
  readonly plotWidthPx?: number;
}

const LANE_HEIGHT_PX = 26;
const BAR_HEIGHT_PX = 18;
const LEFT_PX = 110;
const RIGHT_PX = 40;
const FAULT_LABEL_ROWS = 3;
const TOP_PX = 30 + FAULT_LABEL_ROWS * 14;
const UNKNOWN_TAIL_PX = 28;
const CHAR_WIDTH_PX = 6.2;
const OUTCOME_COLOR = { ok: '#4c9f5a', fail: '#c8504a', unknown: '#e0a030' } as const;

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

interface Scale {
  readonly t0: number;
  readonly t1: number;
  readonly pxPerMs: number;
  x(t: number): number;
}

function makeScale(history: readonly Operation[], faults: readonly FaultInterval[], plotWidthPx?: number): Scale {
  const times = [
    ...history.flatMap((op) => [op.invokeMs, op.completeMs]),
    ...faults.flatMap((f) => (f.endMs === null ? [f.startMs] : [f.startMs, f.endMs])),
  ].filter(Number.isFinite);
  // A loop, not Math.min(...times): spreading a long history would overflow the call stack.
  let t0 = times.length > 0 ? Number.POSITIVE_INFINITY : 0;
  let t1 = times.length > 0 ? Number.NEGATIVE_INFINITY : 1;
  for (const t of times) {
    t0 = Math.min(t0, t);
    t1 = Math.max(t1, t);
  }
  const spanMs = Math.max(1, t1 - t0);
  const width = plotWidthPx ?? Math.min(20_000, Math.max(1_000, spanMs * 2));
  const pxPerMs = width / spanMs;
  return { t0, t1, pxPerMs, x: (t) => LEFT_PX + (t - t0) * pxPerMs };
}

/** Round tick spacing: 1, 2 or 5 times a power of ten, about every 100 px. */
function tickStepMs(pxPerMs: number): number {
  const raw = 100 / pxPerMs;
  const pow = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? raw;
}

function renderAxis(scale: Scale, height: number): string {
  const step = tickStepMs(scale.pxPerMs);
  const parts: string[] = [];
  for (let t = Math.ceil(scale.t0 / step) * step; t <= scale.t1; t += step) {
    const x = scale.x(t).toFixed(1);
    parts.push(`<line class="tick" x1="${x}" x2="${x}" y1="${TOP_PX - 6}" y2="${height}"/>`);
    parts.push(`<text class="tick-label" x="${x}" y="${TOP_PX - 9}">${escapeXml(String(Math.round(t * 1000) / 1000))}</text>`);
  }
  return parts.join('\n');
}

function faultColor(kind: string): string {
  let h = 0;
  for (const c of kind) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
  return `hsl(${h % 360}, 60%, 55%)`;
}

function renderFaults(faults: readonly FaultInterval[], scale: Scale, height: number): string {
  return faults
    .map((f, i) => {
      const x0 = scale.x(f.startMs);
      const x1 = scale.x(f.endMs ?? scale.t1);
      const label = `${f.kind}${f.nodes !== undefined && f.nodes.length > 0 ? ` [${f.nodes.join(', ')}]` : ''}`;
      const details = `${label}\n${f.startMs} → ${f.endMs ?? 'end'} ms${f.note !== undefined ? `\n${f.note}` : ''}`;
      const y = 14 + (i % FAULT_LABEL_ROWS) * 14;
      return `<g class="fault"><title>${escapeXml(details)}</title>` +
        `<rect x="${x0.toFixed(1)}" y="${y - 11}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${height - y + 11}" fill="${faultColor(f.kind)}"/>` +
        `<text x="${(x0 + 3).toFixed(1)}" y="${y}">${escapeXml(label)}</text></g>`;
    })
    .join('\n');
}

function renderOperation(op: Operation, laneY: number, scale: Scale, highlight: boolean): string {
  const x0 = scale.x(op.invokeMs);
  const end = Number.isFinite(op.completeMs) ? op.completeMs : op.invokeMs;
  const width = Math.max(2, scale.x(end) - x0);
  const y = laneY + (LANE_HEIGHT_PX - BAR_HEIGHT_PX) / 2;
  const label = describeOperation(op);
  const details = `#${op.id} client ${op.clientId}: ${label}\noutcome: ${op.outcome}\ninvoke ${op.invokeMs} ms, complete ${
    op.outcome === 'unknown' ? `unknown (gave up at ${op.completeMs} ms)` : `${op.completeMs} ms`
  }${op.note !== undefined ? `\n${op.note}` : ''}`;
  const parts = [`<g class="op ${op.outcome}${highlight ? ' highlight' : ''}"><title>${escapeXml(details)}</title>`];
  parts.push(`<rect x="${x0.toFixed(1)}" y="${y}" width="${width.toFixed(1)}" height="${BAR_HEIGHT_PX}" rx="3" fill="${OUTCOME_COLOR[op.outcome]}"/>`);
  if (op.outcome === 'unknown') {
    parts.push(`<rect x="${(x0 + width).toFixed(1)}" y="${y}" width="${UNKNOWN_TAIL_PX}" height="${BAR_HEIGHT_PX}" fill="url(#unknown-tail)"/>`);
  }
  if (width > label.length * CHAR_WIDTH_PX + 4) {
    parts.push(`<text x="${(x0 + 3).toFixed(1)}" y="${y + 13}">${escapeXml(label)}</text>`);
  }
  parts.push('</g>');
  return parts.join('');
}

function laneOrder(history: readonly Operation[]): string[] {
  const ids = [...new Set(history.map((op) => String(op.clientId)))];
  return ids.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

const STYLE = `body{font:13px system-ui,sans-serif;margin:12px;color:#222}
svg text{font:11px ui-monospace,monospace;fill:#111;pointer-events:none}
.lane-label{font-weight:bold}.lane{fill:#f6f6f6}.tick{stroke:#ddd}.tick-label{text-anchor:middle;fill:#666}
.fault rect{opacity:.16}.fault text{fill:#333;font-weight:bold}
.op rect{stroke:#0003}.op:hover rect{stroke:#000;stroke-width:2}.op.highlight rect{stroke:#000;stroke-width:2.5}
.legend span{display:inline-block;padding:1px 8px;margin-right:6px;border-radius:3px;color:#fff}`;

/** The timeline as a complete HTML document. */
export function renderTimelineHtml(history: readonly Operation[], faults: readonly FaultInterval[] = [], options: TimelineOptions = {}): string {
  const scale = makeScale(history, faults, options.plotWidthPx);
  const lanes = laneOrder(history);
  const laneIndex = new Map(lanes.map((id, i) => [id, i]));
  const height = TOP_PX + lanes.length * LANE_HEIGHT_PX + 10;
  const width = scale.x(scale.t1) + RIGHT_PX + UNKNOWN_TAIL_PX;
  const laneRows = lanes.map((id, i) => {
    const y = TOP_PX + i * LANE_HEIGHT_PX;
    return `<rect class="lane" x="0" y="${y + 1}" width="${width.toFixed(1)}" height="${LANE_HEIGHT_PX - 2}"/>` +
      `<text class="lane-label" x="6" y="${y + 17}">${escapeXml(`client ${id}`)}</text>`;
  });
  const ops = history.map((op) =>
    renderOperation(op, TOP_PX + (laneIndex.get(String(op.clientId)) ?? 0) * LANE_HEIGHT_PX, scale, options.highlightIds?.has(op.id) ?? false),
  );
  const title = options.title ?? 'raftkv history';
  const legend = (Object.keys(OUTCOME_COLOR) as (keyof typeof OUTCOME_COLOR)[])
    .map((k) => `<span style="background:${OUTCOME_COLOR[k]}">${k}</span>`)
    .join('');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeXml(title)}</title><style>${STYLE}</style></head>
<body><h1 style="font-size:16px">${escapeXml(title)}</h1>
<p class="legend">${legend} ${history.length} operations, ${lanes.length} clients, ${faults.length} faults; time in ms; hover for details.</p>
<svg xmlns="http://www.w3.org/2000/svg" width="${width.toFixed(0)}" height="${height}" viewBox="0 0 ${width.toFixed(0)} ${height}">
<defs><linearGradient id="unknown-tail"><stop offset="0" stop-color="${OUTCOME_COLOR.unknown}"/><stop offset="1" stop-color="${OUTCOME_COLOR.unknown}" stop-opacity="0"/></linearGradient></defs>
${laneRows.join('\n')}
${renderAxis(scale, height)}
${renderFaults(faults, scale, height)}
${ops.join('\n')}
</svg></body></html>
`;
}
