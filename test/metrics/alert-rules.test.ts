/**
 * docs/prometheus-alerts.yml and docs/grafana-dashboard.json are well formed. That every metric they
 * use exists on a live node is checked in serve-metrics.test.ts, which has a gossip cluster running.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALERT_RULES_PATH, checkAlertRules, DASHBOARD_PATH, monitoringExpressions } from './monitoring-docs.js';

describe('monitoring examples in docs/', () => {
  it('the alert rules file is a well-formed Prometheus rule file with the promised alerts', () => {
    const text = readFileSync(ALERT_RULES_PATH, 'utf8');
    expect(checkAlertRules(text)).toEqual([]);
    for (const alert of ['RaftkvNoLeader', 'RaftkvFrequentLeaderChanges', 'RaftkvFollowerLag', 'RaftkvEventLoopDelay']) expect(text).toContain(`alert: ${alert}\n`);
  });

  it('the rule checker catches the mistakes it is there for', () => {
    expect(checkAlertRules('groups: [')[0]).toMatch(/^not YAML/);
    expect(checkAlertRules('rules: []')).toEqual(['want a top-level non-empty `groups` list']);
    const bad = `groups:
  - name: g
    rules:
      - alert: A
        expr: sum(rate(x[5m])
        for: 5 minutes
        labels: { severity: page }
        annotation: { summary: s }
      - alert: A
        expr: up == 0
        labels: { severity: warning }
        annotations: { summary: s }
`;
    expect(checkAlertRules(bad)).toEqual([
      'group g rule 0: unknown field annotation',
      'group g rule 0: unbalanced brackets in expr',
      'group g rule 0: bad duration for: 5 minutes',
      'group g rule 0: want labels.severity (critical, warning or info)',
      'group g rule 0: want annotations.summary',
      'group g rule 1: duplicate alert A',
    ]);
  });

  it('the Grafana dashboard is JSON with a Prometheus data-source input and a query on every panel', () => {
    const dash = JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')) as { __inputs: Array<{ name: string; pluginId: string }>; panels: Array<{ type: string; id: number; targets?: Array<{ expr: string }> }> };
    expect(dash.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', pluginId: 'prometheus' })]);
    expect(new Set(dash.panels.map((p) => p.id)).size).toBe(dash.panels.length);
    for (const p of dash.panels.filter((x) => x.type !== 'row')) expect(p.targets?.length).toBeGreaterThan(0);
    expect(monitoringExpressions().length).toBeGreaterThan(20);
  });
});
