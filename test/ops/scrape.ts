import { request } from '../harness/http';

/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a /metrics text (comments skipped). */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const [, name = '', labelText = '', value = ''] = match;
    const labels: Record<string, string> = {};
    for (const [, key = '', raw = ''] of labelText.matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g))
      labels[key] = raw;
    samples.push({ name, labels, value: Number(value) });
  }
  return samples;
}

/** A process's metrics as Prometheus would scrape them. */
export async function scrape(baseUrl: string): Promise<Sample[]> {
  const response = await request(baseUrl, 'GET', '/metrics');
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  return parseSamples(response.text);
}

/** The value of the one sample named `name` whose labels include `labels`, if any. */
export function sampleValue(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}
