// The security headers the contract's readers can count on, written out here rather than read
// from src/, so a change to helmet's defaults or to the gateway's options shows up as a failure.
export const API_ANSWER_SET: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none';frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
};

/** What a browser navigation (login, callback, logout, the front-end's pages) gets on top. */
export const DOCUMENT_ONLY_SET: Readonly<Record<string, string>> = {
  'cross-origin-opener-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'referrer-policy': 'no-referrer',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-permitted-cross-domain-policies': 'none',
  'x-xss-protection': '0',
};

const ALL_NAMES = [...Object.keys(API_ANSWER_SET), ...Object.keys(DOCUMENT_ONLY_SET)];

/** The security headers an answer carries, by name, from any header bag. */
export function securityHeadersOf(get: (name: string) => string | null | undefined): Record<string, string> {
  const found: Record<string, string> = {};
  for (const name of ALL_NAMES) {
    const value = get(name);
    if (value !== null && value !== undefined) found[name] = value;
  }
  return found;
}
