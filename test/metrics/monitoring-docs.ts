/**
 * The monitoring examples shipped in docs/: the Prometheus alert rules and the Grafana dashboard.
 * promtool is not available here, so `checkAlertRules` checks what it would catch first (the rule
 * file's shape, durations, balanced brackets), and the metric names are checked against a live node.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const DOCS = join(import.meta.dirname, '../../docs');
export const ALERT_RULES_PATH = join(DOCS, 'prometheus-alerts.yml');
export const DASHBOARD_PATH = join(DOCS, 'grafana-dashboard.json');

const RULE_KEYS = new Set(['alert', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);
const DURATION = /^(\d+(ms|s|m|h|d|w|y))+$/;
const SEVERITIES = new Set(['critical', 'warning', 'info']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Brackets outside string literals must nest; a PromQL typo often shows up here first. */
function bracketsBalance(expr: string): boolean {
  const open: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  let quote: string | null = null;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '(' || c === '[' || c === '{') open.push(c);
    else if (c in pairs && open.pop() !== pairs[c]) return false;
  }
  return open.length === 0 && quote === null;
}

/** Every problem found in a Prometheus rule file's text (empty when it is well formed). */
export function checkAlertRules(text: string): string[] {
  const problems: string[] = [];
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    return [`not YAML: ${(e as Error).message}`];
  }
  if (!isRecord(doc) || !Array.isArray(doc.groups) || doc.groups.length === 0) return ['want a top-level non-empty `groups` list'];
  const groupNames = new Set<string>();
  const alertNames = new Set<string>();
  for (const [gi, g] of doc.groups.entries()) {
    if (!isRecord(g) || typeof g.name !== 'string' || g.name === '') {
      problems.push(`group ${gi}: want a name`);
      continue;
    }
    if (groupNames.has(g.name)) problems.push(`group ${g.name}: duplicate name`);
    groupNames.add(g.name);
    if (!Array.isArray(g.rules) || g.rules.length === 0) {
      problems.push(`group ${g.name}: want a non-empty rules list`);
      continue;
    }
    for (const [ri, r] of g.rules.entries()) {
      const at = `group ${g.name} rule ${ri}`;
      if (!isRecord(r)) {
        problems.push(`${at}: not a mapping`);
        continue;
      }
      for (const k of Object.keys(r)) if (!RULE_KEYS.has(k)) problems.push(`${at}: unknown field ${k}`);
      if (typeof r.alert !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(r.alert)) problems.push(`${at}: want an alert name`);
      else if (alertNames.has(r.alert)) problems.push(`${at}: duplicate alert ${r.alert}`);
      else alertNames.add(r.alert);
      if (typeof r.expr !== 'string' || r.expr.trim() === '') problems.push(`${at}: want an expr`);
      else if (!bracketsBalance(r.expr)) problems.push(`${at}: unbalanced brackets in expr`);
      if (r.for !== undefined && (typeof r.for !== 'string' || !DURATION.test(r.for))) problems.push(`${at}: bad duration for: ${String(r.for)}`);
      if (!isRecord(r.labels) || !SEVERITIES.has(String(r.labels.severity))) problems.push(`${at}: want labels.severity (critical, warning or info)`);
      if (!isRecord(r.annotations) || typeof r.annotations.summary !== 'string') problems.push(`${at}: want annotations.summary`);
    }
  }
  return problems;
}

/** Every PromQL expression of the alert rules and of the dashboard's panels. */
export function monitoringExpressions(): string[] {
  const rules = parse(readFileSync(ALERT_RULES_PATH, 'utf8')) as { groups: Array<{ rules: Array<{ expr: string }> }> };
  const dash = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
  return [
    ...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)),
    ...dash.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)),
  ];
}

/** The metric families an expression uses (a histogram's _bucket/_sum/_count series name their family). */
export function metricFamiliesIn(expr: string, known: ReadonlySet<string>): string[] {
  const names = [...expr.matchAll(/\b((?:raftkv|nodejs|process)_[a-z0-9_]+)/g)].map((m) => m[1]!);
  return names.map((n) => (known.has(n) ? n : n.replace(/_(bucket|sum|count)$/, '')));
}
