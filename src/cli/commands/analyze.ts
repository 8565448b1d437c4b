// `weft analyze`: lints the live configuration against the registered workloads (and files, as if
// applied), or files alone with --offline.
import type { Command } from 'commander';
import { analyze, defaultMeshConfigSpec, formatIssue, parseResources, type Finding, type MeshConfig, type StoredResource } from '../../config/index.js';
import { readSources } from '../admin/sources.js';
import { EXIT, formatOption, printJson, printTable } from '../output.js';
import { client, reportIssues } from './resources.js';

export function registerAnalyzeCommand(program: Command): void {
  program
    .command('analyze')
    .description('lint the configuration: selectors that match nothing, PERMISSIVE in force, HTTP rules on TCP ports, shadowed policies, foreign principals, subsets without endpoints, fields accepted but not enforced')
    .option('-f, --filename <path...>', 'also analyze these files, as if applied')
    .option('--offline', 'analyze the files alone, without a control plane (lints that need the registry are skipped)')
    .option('--trust-domain <name>', 'trust domain for --offline', 'cluster.local')
    .option('-o, --output <format>', 'json', formatOption('json'))
    .option('--config <file>', 'admin config (default: $WEFT_CONFIG, else ./.weft/admin.conf)')
    .addHelpText('after', '\nExit code 1 when a finding has severity error. docs/analyze.md explains every code.')
    .action(async (opts: { filename?: string[]; offline?: boolean; trustDomain: string; output?: string; config?: string }) => {
      const sources = opts.filename ? readSources(opts.filename) : [];
      let findings: Finding[];
      if (opts.offline) {
        const resources: StoredResource[] = [];
        for (const source of sources) {
          const parsed = parseResources(source.text, source.file);
          if (!parsed.ok) {
            for (const issue of parsed.issues) process.stderr.write(`${formatIssue(issue)}\n`);
            process.exitCode = EXIT.refused;
            return;
          }
          resources.push(...parsed.value.map((r) => ({ ...r, metadata: { ...r.metadata, resourceVersion: '0', creationTimestamp: '1970-01-01T00:00:00Z', generation: 0 } }) as StoredResource));
        }
        const mesh = resources.find((r): r is StoredResource<MeshConfig> => r.kind === 'MeshConfig');
        findings = analyze({ resources, mesh: mesh?.spec ?? defaultMeshConfigSpec(), trustDomain: mesh?.spec.trustDomain ?? opts.trustDomain, workloads: undefined });
      } else {
        findings = (await client(opts.config).call<{ findings: Finding[] }>('POST', '/v1/analyze', { sources }).catch(reportIssues)).findings;
      }
      if (opts.output === 'json') printJson({ findings });
      else if (findings.length === 0) process.stdout.write('no findings\n');
      else printTable(['SEVERITY', 'CODE', 'RESOURCE', 'MESSAGE'], findings.map((f) => [f.severity, f.code, f.path ? `${f.resource} ${f.path}` : f.resource, f.message]));
      if (findings.some((f) => f.severity === 'error')) process.exitCode = EXIT.refused;
    });
}
