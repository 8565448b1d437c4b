#!/usr/bin/env node
// The installed CLI runs the compiled package; `npm ci` builds it (the `prepare` script).
import { main } from '../dist/cli/main.js';

// Exit explicitly: a command that failed half-way may leave listeners open, and the exit code must
// still be the one main() decided. Output to pipes and files is synchronous here, so nothing is lost.
process.exit(await main(process.argv));
