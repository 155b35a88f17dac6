import { createPublicKey, type KeyObject } from 'node:crypto';
import type { JWTVerifyGetKey } from 'jose';

export interface KeySourceStatus {
  ready: boolean;
  /** Keys are loaded but the last refresh failed: tokens still verify with the keys held. */
  degraded: boolean;
  detail: string;
  /** JWKS fetches since start, by result; a static key has none. */
  refreshes: { ok: number; failed: number };
  /** When the keys in use were loaded (epoch ms). */
  loadedAtMs: number | undefined;
}

/** Where caller-token verification keys come from: a JWKS URL or one configured key. */
export interface KeySource {
  getKey: JWTVerifyGetKey;
  /** Loads keys if none are loaded yet; resolves whether or not that worked. */
  warm(): Promise<void>;
  status(): KeySourceStatus;
}

/**
 * Parses AUTH_PUBLIC_KEY: a PEM (SPKI or certificate) or a public JWK. Throws a readable message
 * for anything else, symmetric keys included: an HMAC secret must never verify caller tokens.
 */
export function parseStaticKey(material: string): KeyObject {
  const trimmed = material.trim();
  let key: KeyObject;
  try {
    key = trimmed.startsWith('{')
      ? createPublicKey({ key: JSON.parse(trimmed) as import('node:crypto').JsonWebKey, format: 'jwk' })
      : createPublicKey(trimmed);
  } catch {
    throw new Error('AUTH_PUBLIC_KEY is not a PEM public key, certificate or public JWK');
  }
  if (key.type !== 'public') throw new Error('AUTH_PUBLIC_KEY must be a public key');
  return key;
}

export function staticKeySource(key: KeyObject): KeySource {
  const loadedAtMs = Date.now();
  return {
    getKey: () => key,
    warm: async () => {},
    status: () => ({ ready: true, degraded: false, detail: `static ${key.asymmetricKeyType ?? 'unknown'} key`, refreshes: { ok: 0, failed: 0 }, loadedAtMs: loadedAtMs }),
  };
}
