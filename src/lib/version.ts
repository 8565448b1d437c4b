import { readFileSync } from 'node:fs';

/** weft's version, read once from package.json (which ships with the package): istio_build's tag. */
export const WEFT_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
