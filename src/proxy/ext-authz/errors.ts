// Codes of the CUSTOM stage's own answers (x-weft-proxy-error: UAEX <code>: <reason>); each is
// documented in docs/errors.md.
export const EXTAUTHZ_ERROR_CODES = ['WEFT_EXTAUTHZ_DENIED', 'WEFT_EXTAUTHZ_FAILED', 'WEFT_EXTAUTHZ_BODY_TOO_LARGE', 'WEFT_EXTAUTHZ_BODY_TIMEOUT'] as const;

export type ExtAuthzErrorCode = (typeof EXTAUTHZ_ERROR_CODES)[number];
