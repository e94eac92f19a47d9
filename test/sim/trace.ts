import { messageTypeName, type Message } from '../../src/raft/types.js';

type TraceItem = { t: number; text: string } | { t: number; m: Message; dropped: boolean };

/** A bounded ring of recent events; messages are formatted only when the trace is printed. */
export class Trace {
  private readonly items: TraceItem[] = [];
  private next = 0;

  constructor(private readonly capacity = 400) {}

  private push(item: TraceItem): void {
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  event(t: number, text: string): void {
    this.push({ t, text });
  }

  message(t: number, m: Message, dropped: boolean): void {
    this.push({ t, m, dropped });
  }

  tail(n: number): string[] {
    const ordered = this.items.length < this.capacity ? this.items : [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
    return ordered.slice(-n).map(formatItem);
  }
}

export function formatMessage(m: Message): string {
  const parts = [`${m.from}->${m.to} ${messageTypeName(m.type)} term=${m.term}`];
  if (m.logTerm || m.index) parts.push(`logTerm=${m.logTerm} index=${m.index}`);
  if (m.entries.length) parts.push(`entries=[${m.entries.map((e) => `${e.term}/${e.index}`).join(',')}]`);
  if (m.commit) parts.push(`commit=${m.commit}`);
  if (m.reject) parts.push(`reject hint=${m.rejectHint}`);
  if (m.snapshot) parts.push(`snap=${m.snapshot.meta.term}/${m.snapshot.meta.index}`);
  return parts.join(' ');
}

function formatItem(item: TraceItem): string {
  const t = String(item.t).padStart(5);
  if ('text' in item) return `t=${t}  ${item.text}`;
  return `t=${t}  ${item.dropped ? 'DROP ' : 'send '}${formatMessage(item.m)}`;
}
