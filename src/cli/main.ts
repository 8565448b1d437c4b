import { Command, CommanderError } from 'commander';
import { describeError, WeftError } from '../lib/errors.js';
import { registerCaCommands } from './commands/ca.js';
import { registerCertCommands } from './commands/cert.js';
import { registerControlPlaneCommand } from './commands/control-plane.js';
import { registerSidecarCommand } from './commands/sidecar.js';
import { registerUpCommand } from './commands/up.js';
import { registerTokenCommands } from './commands/token.js';
import { registerResourceCommands } from './commands/resources.js';
import { registerStatusCommand } from './commands/status.js';
import { registerAnalyzeCommand } from './commands/analyze.js';
import { registerAuthzCommands } from './commands/authz.js';
import { finishHelp } from './help.js';
import { registerProxyConfigCommand } from './commands/proxy-config.js';
import { registerProxyStatusCommand } from './commands/proxy-status.js';
import { EXIT, UsageError } from './output.js';
import { VERSION } from './version.js';

/** Builds the `weft` command tree. Subcommands inherit exit and output handling from the root. */
export function buildProgram(): Command {
  const program = new Command('weft')
    .description('weft: a zero-trust service mesh (SPIFFE identities, mutual TLS on every hop, Istio\'s security resources as configuration)')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false })
    .exitOverride();
  program.addHelpText(
    'after',
    `
Exit codes: 0 ok, 1 refused or invalid input, 2 usage error.
The CA and token commands work on a data directory (--data-dir, default ./.weft).
apply, get, delete, analyze, status, proxy-status and proxy-config talk to a control plane's
admin API: --config FILE, else $WEFT_CONFIG, else ./.weft/admin.conf (written by \`weft up\`
and \`weft control-plane\`).`,
  );
  registerUpCommand(program);
  registerCaCommands(program);
  registerTokenCommands(program);
  registerCertCommands(program);
  registerControlPlaneCommand(program);
  registerSidecarCommand(program);
  registerResourceCommands(program);
  registerAnalyzeCommand(program);
  registerAuthzCommands(program);
  registerStatusCommand(program);
  registerProxyStatusCommand(program);
  registerProxyConfigCommand(program);
  finishHelp(program);
  return program;
}

/**
 * Runs the CLI with `argv` (as process.argv: node, script, args...) and returns the exit code:
 * 0 ok, 1 refused or invalid input, 2 usage error.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  if (argv.length <= 2) {
    program.outputHelp();
    return EXIT.usage;
  }
  try {
    await program.parseAsync([...argv]);
    // A command that reports a negative finding (cert inspect) sets the exit code itself.
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end here with exit code 0; everything else commander raises is usage.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n(run with --help for usage)\n`);
      return EXIT.usage;
    }
    process.stderr.write(`error: ${describeError(err)}\n`);
    if (!(err instanceof WeftError) && process.env.WEFT_DEBUG) process.stderr.write(`${(err as Error).stack}\n`);
    return EXIT.refused;
  }
}
