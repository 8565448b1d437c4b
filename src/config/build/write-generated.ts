// Rewrites src/config/generated/types.ts from the schemas: `node --import tsx src/config/build/write-generated.ts`.
import { writeFileSync } from 'node:fs';
import { KIND_DEFINITIONS } from '../schemas/index.js';
import { generateTypes } from './generate-types.js';

writeFileSync(new URL('../generated/types.ts', import.meta.url), generateTypes(KIND_DEFINITIONS));
