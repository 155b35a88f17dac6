// Sessions in Redis, so that any replica serves any session and a logout reaches all of them at
// once. Each session is one key that expires by itself at the earlier of its idle and absolute
// ends; an index per provider session id (sid) and per subject lets back-channel logout find them.
import type { Redis } from 'ioredis';
import { GatewayError } from '../errors.ts';
import { expired, type Session, type SessionLimits, type SessionStore } from './store.ts';

const PREFIX = 'sailpoint-gateway:session:';
const key = (id: string) => `${PREFIX}${id}`;
const bySid = (sid: string) => `${PREFIX}sid:${sid}`;
const bySubject = (subject: string) => `${PREFIX}sub:${subject}`;

/** How long Redis keeps a session: until it would end unused, or its absolute end if sooner. */
function ttlMs(session: Session, limits: SessionLimits, nowMs: number): number {
  const idleEnd = session.lastSeenAtMs + limits.idleTimeoutS * 1000;
  const maxEnd = session.createdAtMs + limits.maxAgeS * 1000;
  return Math.max(1, Math.min(idleEnd, maxEnd) - nowMs);
}

/** Redis down is the gateway not ready to serve sessions (503), never a logout. */
async function reachable<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new GatewayError('ERR_NOT_READY', 'The session store is unreachable; try again shortly.', { retryAfterS: 2, cause: error });
  }
}

export function redisSessionStore(redis: Redis, limits: SessionLimits): SessionStore {
  let held = 0;
  async function write(session: Session, nowMs: number): Promise<void> {
    const px = ttlMs(session, limits, nowMs);
    const indexPx = limits.maxAgeS * 1000;
    const tx = redis.multi().set(key(session.id), JSON.stringify(session), 'PX', px);
    if (session.providerSid) tx.sadd(bySid(session.providerSid), session.id).pexpire(bySid(session.providerSid), indexPx);
    tx.sadd(bySubject(session.subject), session.id).pexpire(bySubject(session.subject), indexPx);
    await tx.exec();
  }
  return {
    async put(session) {
      await reachable(() => write(session, Date.now()));
      held += 1;
    },
    async touch(id, nowMs = Date.now()) {
      const raw = await reachable(() => redis.get(key(id)));
      if (raw === null) return undefined;
      const session = JSON.parse(raw) as Session;
      if (expired(session, limits, nowMs)) {
        await redis.del(key(id));
        return undefined;
      }
      session.lastSeenAtMs = nowMs;
      await redis.set(key(id), JSON.stringify(session), 'PX', ttlMs(session, limits, nowMs), 'XX');
      return session;
    },
    async delete(id) {
      await reachable(() => redis.del(key(id)));
    },
    async deleteWhere(match) {
      const index = match.providerSid !== undefined ? bySid(match.providerSid) : match.subject !== undefined ? bySubject(match.subject) : undefined;
      if (index === undefined) return 0;
      const ids = await redis.smembers(index);
      if (ids.length === 0) return 0;
      const ended = await redis.del(...ids.map(key));
      await redis.del(index);
      return ended;
    },
    // Sessions this replica created; Redis holds everyone's (and expires them itself).
    size: () => held,
    status: () =>
      redis.status === 'ready'
        ? { ready: true, degraded: false, detail: 'in Redis, shared by every replica' }
        : { ready: true, degraded: true, detail: `Redis ${redis.status}: calls with a session cookie answer 503 (bearer calls do not need it)` },
  };
}
