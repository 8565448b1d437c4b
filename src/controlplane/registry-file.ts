// The control plane's saved registrations (<data-dir>/registry.json), so a restart keeps serving
// the endpoints sidecars registered. Writing is batched and never throws into a timer: a write
// that fails (no file descriptors left, a full disk) is logged and tried again with backoff, and
// the registrations in memory are unaffected.
import { readFileSync } from 'node:fs';
import { SIDECAR_RECONNECT_MAX_MS } from '../api/limits.js';
import { describeError } from '../lib/errors.js';
import { writeFileAtomic } from '../lib/files.js';
import type { ServiceRegistry, Workload } from '../registry/index.js';

const BATCH_MS = 250;
const RETRY_MAX_MS = 10_000;

export class RegistryFile {
  readonly #file: string;
  readonly #registry: ServiceRegistry;
  readonly #log: (event: string, fields: Record<string, unknown>) => void;
  #timer: NodeJS.Timeout | undefined;
  #failures = 0;

  constructor(file: string, registry: ServiceRegistry, log: (event: string, fields: Record<string, unknown>) => void) {
    this.#file = file;
    this.#registry = registry;
    this.#log = log;
  }

  /**
   * Loads the saved registrations. Each gets a fresh lease, plus time for two reconnect attempts
   * of a sidecar at its longest backoff: none of them could renew while the control plane was down.
   */
  restore(): void {
    let text: string;
    try {
      text = readFileSync(this.#file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.#log('registry.restore_failed', { file: this.#file, reason: describeError(err) });
      return;
    }
    try {
      const saved = JSON.parse(text) as { workloads?: Workload[] };
      const n = this.#registry.restore(Array.isArray(saved.workloads) ? saved.workloads : [], { graceMs: 2 * SIDECAR_RECONNECT_MAX_MS });
      this.#log('registry.restored', { workloads: n, leaseMs: this.#registry.leaseMs + 2 * SIDECAR_RECONNECT_MAX_MS });
    } catch (err) {
      this.#log('registry.restore_failed', { file: this.#file, reason: describeError(err) });
    }
  }

  /** Saves soon: a storm of a thousand registrations is one write, not a thousand. */
  saveSoon(): void {
    if (this.#timer) return;
    this.#schedule(BATCH_MS);
  }

  /** Writes now if a save is pending (at stop). */
  flush(): void {
    if (!this.#timer) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#write();
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (!this.#write()) this.#schedule(Math.min(RETRY_MAX_MS, BATCH_MS * 2 ** this.#failures));
    }, ms).unref();
  }

  #write(): boolean {
    try {
      writeFileAtomic(this.#file, `${JSON.stringify({ workloads: this.#registry.workloads() })}\n`, 0o600);
      if (this.#failures > 0) this.#log('registry.save_recovered', { file: this.#file, failures: this.#failures });
      this.#failures = 0;
      return true;
    } catch (err) {
      this.#failures++;
      this.#log('registry.save_failed', { file: this.#file, reason: describeError(err), attempt: this.#failures });
      return false;
    }
  }
}
