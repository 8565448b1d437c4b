import { WeftError } from '../lib/errors.js';

/** Codes of the sidecar agent; each is documented in docs/errors.md. */
export const AGENT_ERROR_CODES = [
  'WEFT_CONTROL_PLANE_UNREACHABLE',
  'WEFT_CONTROL_PLANE_UNTRUSTED',
  'WEFT_CONTROL_PLANE_REFUSED',
] as const;

export type AgentErrorCode = (typeof AGENT_ERROR_CODES)[number];

export class AgentError extends WeftError<AgentErrorCode> {
  constructor(code: AgentErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'AgentError';
  }
}
