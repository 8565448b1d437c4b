// Mirroring (virtual_service.proto `mirror` + `mirrorPercentage`, `mirrors[]`): copies of the
// request sent fire-and-forget. An absent percentage is 100%, the legacy int `mirrorPercent` is
// read when `mirrorPercentage` is not set. weft adds no `-shadow` suffix to the mirrored Host
// (Istio ≥1.28's behaviour).
import type { HTTPRoute } from '../config/generated/types.js';
import { perMillion } from './fault.js';
import { clamp01 } from './retry.js';

/** A mirror target once its host is resolved. */
export interface MirrorTarget {
  readonly host: string;
  readonly subset: string | undefined;
  readonly port: number | undefined;
  readonly perMillion: number;
}

/** The mirrors a route declares, with `resolve` turning a destination host into a host key (undefined: unknown, dropped). */
export function compileMirrors(route: HTTPRoute, resolve: (host: string) => string | undefined, onUnknown: (host: string, path: string) => void = () => {}): MirrorTarget[] {
  const out: MirrorTarget[] = [];
  const add = (host: string, subset: string | undefined, port: number | undefined, pm: number, path: string) => {
    const key = resolve(host);
    if (key === undefined) onUnknown(host, path);
    else if (pm > 0) out.push({ host: key, subset, port, perMillion: pm });
  };
  if (route.mirror !== undefined) {
    const pm = route.mirrorPercentage !== undefined ? perMillion(route.mirrorPercentage) : route.mirrorPercent !== undefined ? perMillion(undefined, route.mirrorPercent) : 1_000_000;
    add(route.mirror.host, route.mirror.subset, route.mirror.port?.number, pm, 'mirror.host');
  }
  (route.mirrors ?? []).forEach((m, i) => {
    add(m.destination.host, m.destination.subset, m.destination.port?.number, m.percentage === undefined ? 1_000_000 : perMillion(m.percentage), `mirrors[${i}].destination.host`);
  });
  return out;
}

/** The mirrors that fire for one request: one draw of `random` per mirror. */
export function mirrorDecision(mirrors: readonly MirrorTarget[], random: () => number): MirrorTarget[] {
  return mirrors.filter((m) => m.perMillion >= 1_000_000 || Math.floor(clamp01(random()) * 1_000_000) < m.perMillion);
}
