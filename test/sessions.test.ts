import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cookieValue, newSessionId, sessionCookie, SESSION_COOKIE, signId, verifySignedId } from '../src/sessions/cookie.ts';
import { memorySessionStore, type Session } from '../src/sessions/store.ts';

const OLD = 'old-secret-0123456789abcdef0123456789';
const NEW = 'new-secret-0123456789abcdef0123456789';

describe('the session cookie', () => {
  it('carries only an opaque id signed with the first secret; every secret verifies it (rotation)', () => {
    const id = newSessionId();
    assert.match(id, /^[A-Za-z0-9_-]{43}$/);
    const signedOld = signId(id, [OLD]);
    assert.equal(verifySignedId(signedOld, [NEW, OLD]), id, 'signed before the rotation, still valid');
    assert.equal(verifySignedId(signId(id, [NEW, OLD]), [NEW]), id);
    assert.equal(verifySignedId(signedOld, [NEW]), undefined, 'the old secret removed: refused');
  });

  it('remembers a value that verified only for the secrets it verified under, and never an altered one', () => {
    const secrets = [NEW];
    const signed = signId(newSessionId(), secrets);
    const id = verifySignedId(signed, secrets);
    assert.ok(id);
    assert.equal(verifySignedId(signed, secrets), id, 'remembered');
    assert.equal(verifySignedId(signed, [OLD]), undefined, 'not under other secrets');
    const last = signed.at(-1) === 'A' ? 'B' : 'A';
    assert.equal(verifySignedId(`${signed.slice(0, -1)}${last}`, secrets), undefined);
    assert.equal(verifySignedId(`x${signed}`, secrets), undefined);
  });

  it('refuses an altered id, a bad signature, and values that are not ours', () => {
    const signed = signId(newSessionId(), [NEW]);
    const [id, mac] = signed.split('.') as [string, string];
    assert.equal(verifySignedId(`${id}x.${mac}`, [NEW]), undefined);
    assert.equal(verifySignedId(`${id}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`, [NEW]), undefined, 'one character of the signature changed');
    for (const value of [undefined, '', '.', 'nodot', `.${mac}`]) assert.equal(verifySignedId(value, [NEW]), undefined, String(value));
  });

  it('is set with __Host-, Secure, HttpOnly, Path=/ and SameSite, and read back from a Cookie header', () => {
    const header = sessionCookie('abc.def', 3600);
    assert.match(header, /^__Host-bff-session=abc\.def; Path=\/; Secure; HttpOnly; SameSite=Lax; Max-Age=3600$/);
    assert.equal(cookieValue(`a=1; ${SESSION_COOKIE}=abc.def; b=2`, SESSION_COOKIE), 'abc.def');
    assert.equal(cookieValue('a=1', SESSION_COOKIE), undefined);
  });
});

describe('the in-process session store', () => {
  const session = (id: string, at: number, extra: Partial<Session> = {}): Session => ({
    id, subject: 'alice', name: undefined, claims: {}, accessToken: 'at', refreshToken: 'rt', idToken: undefined, providerSid: 'sid-1',
    accessExpiresAtMs: at + 60_000, accessObtainedAtMs: at, createdAtMs: at, lastSeenAtMs: at, ...extra,
  });

  it('ends a session after the idle timeout, and after the absolute lifetime even when used', async () => {
    const store = memorySessionStore({ idleTimeoutS: 60, maxAgeS: 300, maxSessions: 10 });
    await store.put(session('a', 0));
    assert.ok(await store.touch('a', 59_000), 'used within the idle timeout');
    assert.equal(await store.touch('a', 59_000 + 61_000), undefined, 'idle too long');
    await store.put(session('b', 0));
    for (let t = 50_000; t <= 300_000; t += 50_000) assert.ok(await store.touch('b', t), `used at ${t}`);
    assert.equal(await store.touch('b', 300_001), undefined, 'past the absolute lifetime');
  });

  it('is bounded, oldest out first, and ends sessions by provider sid or subject', async () => {
    const store = memorySessionStore({ idleTimeoutS: 60, maxAgeS: 300, maxSessions: 2 });
    await store.put(session('a', 0));
    await store.put(session('b', 0, { providerSid: 'sid-2' }));
    await store.put(session('c', 0, { subject: 'bob', providerSid: 'sid-3' }));
    assert.equal(store.size(), 2);
    assert.equal(await store.touch('a', 1), undefined);
    assert.equal(await store.deleteWhere({ providerSid: 'sid-2' }), 1);
    assert.equal(await store.deleteWhere({ subject: 'bob' }), 1);
    assert.equal(store.size(), 0);
  });
});
