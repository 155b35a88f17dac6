// The session cookie holds only an opaque id, signed so that a forged or altered one is refused
// before any store is asked. The first secret signs; every secret verifies (rotation: a cookie
// signed before a new secret was put first still works until the old one is removed).
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = '__Host-bff-session';

const mac = (id: string, secret: string) => createHmac('sha256', secret).update(id).digest('base64url');

/** A new opaque session id: 256 random bits. */
export const newSessionId = () => randomBytes(32).toString('base64url');

export function signId(id: string, secrets: readonly string[]): string {
  return `${id}.${mac(id, secrets[0] as string)}`;
}

// Every cookie-authenticated request checks its cookie's MAC, and an HMAC cost about 5 µs of a
// call's CPU. So values that verified are remembered, per list of secrets (the frozen settings'
// own), oldest dropped first: only a value that verified gets in, so nothing forged can hit.
const REMEMBERED_MAX = 10_000;
const remembered = new WeakMap<readonly string[], Map<string, string>>();

/** The id, if the value is one of ours under any of the secrets; undefined otherwise. */
export function verifySignedId(value: string | undefined, secrets: readonly string[]): string | undefined {
  if (value === undefined) return undefined;
  let known = remembered.get(secrets);
  const hit = known?.get(value);
  if (hit !== undefined) return hit;
  const dot = value.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const id = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1));
  for (const secret of secrets) {
    const expected = Buffer.from(mac(id, secret));
    if (expected.length === given.length && timingSafeEqual(expected, given)) {
      if (known === undefined) remembered.set(secrets, (known = new Map()));
      if (known.size >= REMEMBERED_MAX) known.delete(known.keys().next().value as string);
      known.set(value, id);
      return id;
    }
  }
  return undefined;
}

/** Set-Cookie for the session: __Host- (Secure, Path=/, no Domain), HttpOnly, SameSite=Lax. */
export function sessionCookie(signed: string, maxAgeS: number): string {
  return `${SESSION_COOKIE}=${signed}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${maxAgeS}`;
}

export const clearedSessionCookie = () => `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
