import type { JWTPayload } from 'jose';

/** Reads a claim by name; a dotted name walks into objects (e.g. Keycloak's realm_access.roles). */
function claimAt(payload: JWTPayload, name: string): unknown {
  if (name in payload) return payload[name];
  let value: unknown = payload;
  for (const part of name.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The caller's grants: the union of the configured claims' values, arrays or space-separated strings. */
export function grantsOf(payload: JWTPayload, claims: readonly string[]): Set<string> {
  const grants = new Set<string>();
  for (const claim of claims) {
    const value = claimAt(payload, claim);
    const items = typeof value === 'string' ? value.split(/\s+/) : Array.isArray(value) ? value : [];
    for (const item of items) {
      if (typeof item === 'string' && item.length > 0) grants.add(item);
    }
  }
  return grants;
}

/** A policy is "any of these grants"; returns the grant that satisfied it, or undefined. */
export function grantAllowing(grants: ReadonlySet<string>, anyOf: readonly string[]): string | undefined {
  return anyOf.find((grant) => grants.has(grant));
}
