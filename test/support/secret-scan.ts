// Every secret a test run has seen, looked for wherever it must never be: log lines and audit
// records, what callers received (headers and bodies), and (for caller tokens) what went upstream.

export interface Haystack {
  where: string;
  text: string;
}

export interface Secrets {
  /** A few named values, each looked for anywhere in the text. */
  named: ReadonlyArray<{ what: string; value: string }>;
  /** Many token signatures (what any leak of a token contains), looked for as base64url runs. */
  signatures: { what: string; values: ReadonlySet<string> };
}

const BASE64URL_RUN = /[A-Za-z0-9_-]{40,}/g;

/** The places where a secret was found, as "what in where"; empty when nothing leaked. */
export function findLeaks(secrets: Secrets, haystacks: readonly Haystack[]): string[] {
  const leaks = new Set<string>();
  for (const haystack of haystacks) {
    for (const { what, value } of secrets.named) {
      if (value.length >= 12 && haystack.text.includes(value)) leaks.add(`${what} in ${haystack.where}`);
    }
    // Thousands of tokens against megabytes of logs: runs of base64url, each looked up once.
    for (const run of haystack.text.matchAll(BASE64URL_RUN)) {
      if (secrets.signatures.values.has(run[0])) leaks.add(`${secrets.signatures.what} in ${haystack.where}`);
    }
  }
  return [...leaks];
}
