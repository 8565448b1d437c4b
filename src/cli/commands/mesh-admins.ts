// The admin identities of a data directory's MeshConfig, as the directory store keeps it, for
// the commands that must refuse to hand them out (`weft token create`, `weft ca mint`). The
// control plane checks again at registration with the MeshConfig in force, so a mesh whose
// configuration lives elsewhere (etcd) is still covered there.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export function meshAdminIdentities(dataDir: string): readonly string[] {
  const file = join(dataDir, 'config', 'resources', 'MeshConfig', 'default.yaml');
  if (!existsSync(file)) return [];
  // Read leniently: the file is the store's own output; an unreadable one lists no admins here,
  // and registration still refuses them.
  try {
    for (const doc of [parseAllDocuments(readFileSync(file, 'utf8'))].flat()) {
      const value = doc.toJS() as { kind?: unknown; spec?: { adminIdentities?: unknown } } | null;
      const ids = value?.kind === 'MeshConfig' ? value.spec?.adminIdentities : undefined;
      if (Array.isArray(ids)) return ids.filter((id): id is string => typeof id === 'string');
    }
  } catch {
    /* as above */
  }
  return [];
}
