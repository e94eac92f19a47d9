import { request } from 'node:http';

/** One scrape, parsed: `series` keys are `name{labels}` exactly as exposed; `families` maps name → type. */
export interface Scrape {
  readonly text: string;
  readonly series: Map<string, number>;
  readonly families: Map<string, string>;
}

/** GET http://<address>/metrics; rejects on a non-200 answer or a malformed exposition. */
export function scrape(address: string, timeoutMs = 3000): Promise<Scrape> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve, reject) => {
    const req = request({ host: address.slice(0, i), port: Number(address.slice(i + 1)), path: '/metrics', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`GET /metrics: ${res.statusCode}`));
        try {
          resolve(parseExposition(body));
        } catch (e) {
          reject(e as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('scrape timed out')));
    req.on('error', reject);
    req.end();
  });
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/;

/** Strict enough to catch format slips: every sample follows the HELP and TYPE of its family. */
export function parseExposition(text: string): Scrape {
  const series = new Map<string, number>();
  const families = new Map<string, string>();
  const helped = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const help = /^# HELP (\S+) /.exec(line);
    if (help) {
      helped.add(help[1]!);
      continue;
    }
    const type = /^# TYPE (\S+) (counter|gauge|histogram)$/.exec(line);
    if (type) {
      if (!helped.has(type[1]!)) throw new Error(`TYPE before HELP: ${line}`);
      families.set(type[1]!, type[2]!);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`malformed line: ${line}`);
    const name = m[1]!;
    const family = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '');
    if (!families.has(family)) throw new Error(`sample without TYPE: ${line}`);
    // Prometheus parses values with Go's ParseFloat, which takes NaN in any case (prom-client writes "Nan").
    const isNaNText = m[3]!.toLowerCase() === 'nan';
    const v = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : isNaNText ? NaN : Number(m[3]);
    if (!isNaNText && Number.isNaN(v)) throw new Error(`bad value: ${line}`);
    series.set(`${name}${m[2] ?? ''}`, v);
  }
  return { text, series, families };
}

/** The value of one series; throws when it is absent, so a renamed metric fails loudly. */
export function value(s: Scrape, key: string): number {
  const v = s.series.get(key);
  if (v === undefined) throw new Error(`no series ${key} in the scrape`);
  return v;
}
