// The raftkv cluster page: renders the node's state from server-sent events (GET /api/events) and
// browses keys (GET /api/keys). Plain browser JavaScript, served as is: no build step.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children || []) if (c) e.append(c);
    return e;
  }

  const fmt = new Intl.NumberFormat('en-US');
  const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  const num = (n) => (n === null || n === undefined ? '—' : fmt.format(n));

  function ago(ms) {
    if (ms === null || ms === undefined) return '—';
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
    return `${Math.round(ms / 60000)} min`;
  }

  const HEALTH_CLASS = { healthy: 'ok', joining: 'warn', lagging: 'warn', suspect: 'warn', unreachable: 'bad', down: 'bad', left: '', unknown: '' };
  const GOSSIP_CLASS = { alive: 'ok', suspect: 'warn', dead: 'bad', left: '' };
  const badge = (text, cls) => el('span', { class: `badge ${cls || ''}`, text });

  // ---- summary cards and header ----
  function renderSummary(s) {
    const v = s.view;
    const banner = $('banner');
    if (!v) {
      banner.hidden = false;
      banner.textContent = `This node is up, but ${s.waiting || 'raft has not started yet'}.`;
      $('cluster-status').textContent = 'waiting';
      $('cluster-status').dataset.state = 'warn';
      return;
    }
    const n = v.node;
    const voters = v.members.filter((m) => m.suffrage === 'voter');
    const healthyVoters = voters.filter((m) => m.health === 'healthy').length;
    const quorum = Math.floor(voters.length / 2) + 1;
    const status = $('cluster-status');
    if (n.leaderId === 0) {
      status.textContent = 'no leader';
      status.dataset.state = 'bad';
    } else if (healthyVoters < voters.length) {
      status.textContent = `degraded · ${healthyVoters}/${voters.length} voters healthy (quorum ${quorum})`;
      status.dataset.state = healthyVoters >= quorum ? 'warn' : 'bad';
    } else {
      status.textContent = `healthy · ${voters.length} voters`;
      status.dataset.state = 'ok';
    }
    banner.hidden = n.leaderId !== 0;
    if (n.leaderId === 0) banner.textContent = 'No leader is known to this node: writes and linearizable reads wait until an election succeeds.';
    $('viewer').textContent = `node ${n.id}`;
    $('leader-id').textContent = n.leaderId === 0 ? 'none' : `node ${n.leaderId}`;
    const leaderRow = v.members.find((m) => m.id === n.leaderId);
    $('leader-sub').textContent = leaderRow && leaderRow.grpcAddr ? `gRPC ${leaderRow.grpcAddr}` : n.leaderId === 0 ? 'election in progress?' : '\u00a0';
    $('term').textContent = num(n.term);
    $('term-sub').textContent = n.leaderId === 0 ? 'no leader in this term' : `led by node ${n.leaderId}`;
    $('commit').textContent = num(n.commitIndex);
    $('log-sub').textContent = `log ${num(n.firstLogIndex)}–${num(n.lastLogIndex)}, snapshot ${num(n.lastSnapshotIndex)}`;
    $('applied').textContent = num(n.appliedIndex);
    $('applied-sub').textContent = n.commitIndex > n.appliedIndex ? `${num(n.commitIndex - n.appliedIndex)} to apply` : 'up to date with commit';
    const alive = v.members.filter((m) => m.gossipState === 'alive').length;
    $('member-count').textContent = String(v.members.filter((m) => m.suffrage !== null).length);
    const learners = v.members.filter((m) => m.suffrage === 'learner').length;
    $('member-sub').textContent = `${voters.length} voters${learners ? ` · ${learners} learners` : ''}${v.gossipEnabled ? ` · ${alive} alive in gossip` : ''}`;
    $('self-role').textContent = n.role;
    $('self-sub').textContent = `${n.pendingProposals} pending${n.gossipHealthScore !== null ? ` · health score ${n.gossipHealthScore}` : ''}`;
    $('self-sub').title = 'writes waiting to apply; Lifeguard health score (0 is healthy)';
    document.title = `raftkv · ${n.leaderId === 0 ? 'no leader' : `leader node ${n.leaderId}`} · node ${n.id}`;
  }

  // ---- members table ----
  function renderMembers(v) {
    const tbody = $('members').tBodies[0];
    const rows = [];
    $('progress-note').textContent = v ? v.progressSource.note : '';
    for (const m of v ? v.members : []) {
      const idCell = el('td', {}, [el('strong', { text: m.id === null ? '?' : String(m.id) }), m.self ? el('span', { class: 'you', text: '(this node)' }) : null]);
      const role = m.raftRole === null ? el('span', { class: 'note', text: 'not in raft' }) : badge(m.raftRole, m.raftRole === 'leader' ? 'lead' : '');
      // A dead or departed member's page is gone with it.
      const reachable = m.gossipState !== 'dead' && m.gossipState !== 'left';
      const page = m.httpAddr && !m.self && reachable ? el('a', { href: `http://${m.httpAddr}/`, text: 'open' }) : el('span', { class: 'note', text: m.self ? 'here' : '—' });
      rows.push(el('tr', { class: m.self ? 'self' : '', 'data-member-id': m.id === null ? '' : String(m.id), 'data-role': m.raftRole || '', 'data-health': m.health }, [
        idCell,
        el('td', {}, [role]),
        el('td', { text: m.suffrage || '—' }),
        el('td', {}, [m.gossipState ? badge(m.gossipState, GOSSIP_CLASS[m.gossipState]) : el('span', { class: 'note', text: v.gossipEnabled ? 'not seen' : 'off' })]),
        el('td', {}, [badge(m.health, HEALTH_CLASS[m.health])]),
        el('td', { class: 'addr', text: m.raftAddr || '—' }),
        el('td', { class: 'addr', text: m.grpcAddr || '—' }),
        el('td', { class: 'addr', text: m.gossipAddr || '—' }),
        el('td', { class: 'num', text: num(m.match) }),
        el('td', { class: 'num', text: num(m.lag) }),
        el('td', { class: 'num', text: m.self ? '—' : ago(m.lastContactMs) }),
        el('td', {}, [page]),
      ]));
    }
    if (rows.length === 0) rows.push(el('tr', { class: 'empty' }, [el('td', { colspan: '12', text: 'No members known yet.' })]));
    tbody.replaceChildren(...rows);
  }

  // ---- charts ----
  const charts = {};
  function chartWidth(id) {
    return Math.max(280, $(id).clientWidth);
  }
  function makeChart(id, series, yLabel) {
    const opts = {
      width: chartWidth(id), height: 220,
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.15)] } },
      axes: [{ stroke: '#6b7685', grid: { stroke: '#eef1f5' }, space: 70, values: (u, splits) => splits.map((t) => timeFmt.format(new Date(t * 1000))) }, { stroke: '#6b7685', grid: { stroke: '#eef1f5' }, label: yLabel, size: 60 }],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 2, fill: s.fill, spanGaps: true, points: { show: false } }))],
    };
    return new uPlot(opts, [[], ...series.map(() => [])], $(id));
  }
  /** The leader's value at each of this node's sample times (their clocks tick apart, so within a second). */
  function alignTo(t, other, field) {
    const byT = new Map(other.map((p) => [p.t, p[field]]));
    return t.map((x) => (byT.has(x) ? byT.get(x) : byT.has(x - 1) ? byT.get(x - 1) : byT.has(x + 1) ? byT.get(x + 1) : null));
  }
  function renderCharts(rates, leaderRates, leaderId) {
    if (typeof uPlot === 'undefined') return;
    if (!charts.throughput) {
      charts.throughput = makeChart('chart-throughput', [
        { label: 'writes applied/s', color: '#3558d6', fill: 'rgba(53,88,214,0.08)' },
        { label: 'gRPC calls/s here', color: '#1f9d55' },
        { label: 'gRPC calls/s at leader', color: '#8a5cf6' },
        { label: 'errors/s here', color: '#c53030' },
      ], 'per second');
      charts.latency = makeChart('chart-latency', [
        { label: 'p50 here', color: '#1f9d55' },
        { label: 'p99 here', color: '#b7791f', fill: 'rgba(183,121,31,0.08)' },
        { label: 'p99 at leader', color: '#8a5cf6' },
      ], 'ms');
      new ResizeObserver(() => {
        charts.throughput.setSize({ width: chartWidth('chart-throughput'), height: 220 });
        charts.latency.setSize({ width: chartWidth('chart-latency'), height: 220 });
      }).observe($('chart-throughput'));
    }
    const t = rates.map((p) => p.t);
    const lr = leaderRates || [];
    charts.throughput.setData([t, rates.map((p) => p.appliedPerSec), rates.map((p) => p.requestsPerSec), alignTo(t, lr, 'requestsPerSec'), rates.map((p) => p.errorsPerSec)]);
    charts.latency.setData([t, rates.map((p) => p.p50Ms), rates.map((p) => p.p99Ms), alignTo(t, lr, 'p99Ms')]);
    // Series without data (this node leads, or serves no calls) are hidden from the legend's clutter.
    charts.throughput.setSeries(3, { show: leaderRates !== null });
    charts.latency.setSeries(3, { show: leaderRates !== null });
    $('latency-note').textContent = leaderRates !== null
      ? `gRPC calls finished here and at the leader (node ${leaderId}), watch streams left out`
      : 'gRPC calls finished on this node, watch streams left out';
  }

  // ---- events ----
  const EVENT_CLASS = { leader: 'lead', join: 'ok', alive: 'ok', added: 'ok', promoted: 'ok', leave: '', removed: 'warn', suspect: 'warn', dead: 'bad', snapshot: '' };
  function renderEvents(events) {
    const items = events.map((e) => el('li', { 'data-kind': e.kind }, [
      el('time', { datetime: new Date(e.atMs).toISOString(), text: timeFmt.format(new Date(e.atMs)) }),
      el('span', {}, [badge(e.kind, EVENT_CLASS[e.kind])]),
      el('span', { text: e.text }),
    ]));
    if (items.length === 0) items.push(el('li', { class: 'empty', text: 'No events since this node started.' }));
    $('events').replaceChildren(...items);
  }

  // ---- live updates ----
  let lastState = null;
  function render(s) {
    lastState = s;
    renderSummary(s);
    renderMembers(s.view);
    renderCharts(s.rates, s.leaderRates, s.view ? s.view.node.leaderId : 0);
    renderEvents(s.events);
  }

  function connect() {
    const conn = $('conn');
    const es = new EventSource('/api/events');
    es.addEventListener('state', (ev) => {
      conn.dataset.state = 'live';
      conn.title = 'live updates';
      render(JSON.parse(ev.data));
    });
    es.onerror = () => {
      // EventSource reconnects by itself (the server sets retry:); say so until it does.
      conn.dataset.state = 'lost';
      conn.title = 'connection to this node lost; retrying';
      $('cluster-status').textContent = lastState ? 'this node is not answering · retrying…' : 'connecting…';
      $('cluster-status').dataset.state = lastState ? 'bad' : 'warn';
    };
  }

  // ---- key browser ----
  const keys = { cursors: [''], page: 0 };
  async function loadKeys() {
    const q = new URLSearchParams({ prefix: $('keys-prefix').value, limit: $('keys-limit').value, after: keys.cursors[keys.page] });
    const status = $('keys-status');
    status.textContent = 'loading…';
    let body;
    try {
      const res = await fetch(`/api/keys?${q}`);
      body = await res.json();
      if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
    } catch (e) {
      status.textContent = `could not list keys: ${e.message}`;
      return;
    }
    const rows = body.kvs.map((kv) => el('tr', {}, [
      el('td', { title: kv.key, text: kv.key }),
      el('td', { class: kv.binary ? 'bin' : '', title: kv.binary ? 'binary value (base64)' : kv.value, text: (kv.binary ? 'base64 ' : '') + kv.value + (kv.truncated ? ' …' : '') }),
      el('td', { class: 'num', text: `${num(kv.valueBytes)} B` }),
      el('td', { class: 'num', text: num(kv.modRevision) }),
      el('td', { class: 'num', text: num(kv.version) }),
    ]));
    if (rows.length === 0) rows.push(el('tr', { class: 'empty' }, [el('td', { colspan: '5', text: 'No keys with this prefix.' })]));
    $('keys').tBodies[0].replaceChildren(...rows);
    const first = keys.page * Number($('keys-limit').value);
    const total = first + body.remaining;
    status.textContent = total === 0 ? `no keys at revision ${num(body.revision)}` : `${num(first + 1)}–${num(first + body.kvs.length)} of ${num(total)} keys at revision ${num(body.revision)}`;
    keys.cursors[keys.page + 1] = body.next;
    $('keys-next').disabled = !body.more;
    $('keys-prev').disabled = keys.page === 0;
  }
  $('keys-form').addEventListener('submit', (e) => {
    e.preventDefault();
    keys.cursors = [''];
    keys.page = 0;
    void loadKeys();
  });
  $('keys-next').addEventListener('click', () => {
    keys.page++;
    void loadKeys();
  });
  $('keys-prev').addEventListener('click', () => {
    keys.page = Math.max(0, keys.page - 1);
    void loadKeys();
  });

  connect();
})();
