// What `weft up` says about the configuration it starts with: the resources in force (a policy
// left behind by an earlier session decides what the checks see), and, for a refused hop, the
// decision the serving sidecar logged.
import { closeSync, fstatSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import type { StoredResource } from '../../config/index.js';
import { describeError } from '../../lib/errors.js';
import { AdminClient, loadAdminConfig } from '../admin/client.js';
import { printTable } from '../output.js';

export type InForce = { items: StoredResource[] } | { error: string };

/** The resources the control plane serves now, read over its admin API. */
export async function resourcesInForce(dataDir: string): Promise<InForce> {
  try {
    const api = new AdminClient(loadAdminConfig(join(dataDir, 'admin.conf')));
    return { items: (await api.call<{ items: StoredResource[] }>('GET', '/v1/resources')).items };
  } catch (err) {
    return { error: describeError(err) };
  }
}

export function printResourcesInForce(inForce: InForce): void {
  if ('error' in inForce) {
    process.stdout.write(`resources in force: unknown (${inForce.error})\n`);
    return;
  }
  if (inForce.items.length === 0) {
    process.stdout.write('resources in force: none (mutual TLS STRICT, every request allowed)\n');
    return;
  }
  process.stdout.write(`resources in force (${inForce.items.length}; \`weft delete KIND NAME -n NAMESPACE\` removes one):\n\n`);
  printTable(
    ['KIND', 'NAMESPACE', 'NAME'],
    inForce.items.map((r) => [r.kind, r.metadata.namespace ?? '-', r.metadata.name]),
  );
}

/** How much of the end of a log file is searched for the last denial. */
const TAIL_BYTES = 256 * 1024;

/**
 * The explanation's headline of the last request a sidecar of `service` denied (its log's
 * `inbound.denied` event), e.g. `DENY by DENY policy default/deny-admin, rule 0`.
 */
export function lastDenial(logDir: string, service: string): string | undefined {
  let found: { at: number; text: string } | undefined;
  let files: string[];
  try {
    files = readdirSync(logDir).filter((f) => f.startsWith(`${service}-`) && f.endsWith('-sidecar.log'));
  } catch {
    return undefined;
  }
  for (const file of files) {
    for (const line of tail(join(logDir, file)).split('\n').reverse()) {
      if (!line.includes('"inbound.denied"')) continue;
      try {
        const entry = JSON.parse(line) as { time?: number; explanation?: unknown };
        const headline = Array.isArray(entry.explanation) && typeof entry.explanation[0] === 'string' ? entry.explanation[0] : undefined;
        if (headline !== undefined && (found === undefined || (entry.time ?? 0) > found.at)) found = { at: entry.time ?? 0, text: headline.trim() };
      } catch {
        // A line cut by the tail window, or not JSON: not a denial we can read.
      }
      break;
    }
  }
  return found?.text;
}

function tail(file: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const size = fstatSync(fd).size;
    const length = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    return buf.toString('utf8');
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
