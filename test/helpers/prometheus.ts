// A real Prometheus (Debian's /usr/bin/prometheus) for tests: a generated configuration in a
// temporary directory, its TSDB there too, listening on a free loopback port, scraping every
// second; queried through its HTTP API and stopped by PID.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, start, stop, waitHttp, type Proc } from './mesh.js';

export interface ScrapeJob {
  readonly name: string;
  readonly path: string;
  readonly targets: readonly string[];
}

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export interface Prometheus {
  readonly url: string;
  readonly proc: Proc;
  query(promql: string): Promise<PromSample[]>;
  /** Polls `promql` until `accept` holds (bounded); returns the last result. */
  until(promql: string, accept: (r: PromSample[]) => boolean, timeoutMs?: number): Promise<PromSample[]>;
  stop(): Promise<void>;
}

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

export async function startPrometheus(dir: string, jobs: readonly ScrapeJob[]): Promise<Prometheus> {
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    ...jobs.flatMap((j) => [`  - job_name: ${j.name}`, `    metrics_path: ${j.path}`, '    static_configs:', `      - targets: [${j.targets.map((t) => `'${t}'`).join(', ')}]`]),
    '',
  ].join('\n');
  writeFileSync(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const proc = start('prometheus', [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], {}, PROMETHEUS_BIN);
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/-/ready`, proc, 60_000);
  const query = async (promql: string): Promise<PromSample[]> => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error}`);
    return body.data!.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };
  return {
    url,
    proc,
    query,
    async until(promql, accept, timeoutMs = 60_000) {
      const deadline = performance.now() + timeoutMs;
      let last: PromSample[] = [];
      while (performance.now() < deadline) {
        last = await query(promql);
        if (accept(last)) return last;
        await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error(`${promql} never satisfied within ${timeoutMs} ms; last result ${JSON.stringify(last)}\n${proc.output()}`);
    },
    stop: () => stop([proc]),
  };
}
