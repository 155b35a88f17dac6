import type { JWTPayload } from 'jose';

// Roles and scopes are different things: a client that can ask its identity provider for any
// scope must not become an admin by asking for a scope named like a role. So each comes from its
// own claims, and an access list entry says which one it wants.

export type GrantKind = 'role' | 'scope';

/** One access list entry: `role:NAME` or `scope:NAME`. */
export interface Grant {
  kind: GrantKind;
  name: string;
}

/** What a caller holds, each from its own claims. */
export interface Grants {
  roles: ReadonlySet<string>;
  scopes: ReadonlySet<string>;
}

/** Where roles and scopes are read from: claim names, a dotted name being a path into nested claims. */
export interface GrantClaims {
  role: readonly string[];
  scope: readonly string[];
}

/**
 * A claim by its path: `realm_access.roles` is payload.realm_access.roles, never a top-level
 * claim literally named "realm_access.roles". Only the token's own properties are followed.
 */
function claimAt(payload: JWTPayload, path: string): unknown {
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value) || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The values of some claims together: each an array of strings or a space-separated string. */
function valuesOf(payload: JWTPayload, claims: readonly string[]): Set<string> {
  const values = new Set<string>();
  for (const claim of claims) {
    const value = claimAt(payload, claim);
    const items = typeof value === 'string' ? value.split(/\s+/) : Array.isArray(value) ? value : [];
    for (const item of items) {
      if (typeof item === 'string' && item.length > 0) values.add(item);
    }
  }
  return values;
}

export function grantsOf(payload: JWTPayload, claims: GrantClaims): Grants {
  return { roles: valuesOf(payload, claims.role), scopes: valuesOf(payload, claims.scope) };
}

/** `role:CERT_ADMIN` → a Grant; undefined for anything else. */
export function parseGrant(entry: string): Grant | undefined {
  const match = /^(role|scope):(\S+)$/.exec(entry);
  return match ? { kind: match[1] as GrantKind, name: match[2] as string } : undefined;
}

export const grantText = (grant: Grant) => `${grant.kind}:${grant.name}`;

/** A policy is "any of these grants"; returns the grant that satisfied it, or undefined. */
export function grantAllowing(grants: Grants, anyOf: readonly Grant[]): Grant | undefined {
  return anyOf.find((grant) => (grant.kind === 'role' ? grants.roles : grants.scopes).has(grant.name));
}
