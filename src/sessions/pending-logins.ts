// Logins in progress: the PKCE verifier and nonce kept on the server under the login's state,
// taken once by the callback. In Redis when configured, so the callback may reach any replica.
import type { Redis } from 'ioredis';
import { GatewayError } from '../errors.ts';
import type { PendingLogin } from './login.ts';

export const LOGIN_TTL_MS = 10 * 60_000;
const MAX_PENDING = 10_000;
const PREFIX = 'sailpoint-gateway:login:';

export interface PendingLogins {
  put(login: PendingLogin): Promise<void>;
  /** The login under this state, removed as it is read: a replayed state finds nothing. */
  take(state: string): Promise<PendingLogin | undefined>;
}

const live = (login: PendingLogin | undefined) => (login && Date.now() - login.createdAtMs < LOGIN_TTL_MS ? login : undefined);

export function memoryPendingLogins(): PendingLogins {
  const pending = new Map<string, PendingLogin>();
  return {
    async put(login) {
      while (pending.size >= MAX_PENDING) pending.delete(pending.keys().next().value as string);
      pending.set(login.state, login);
    },
    async take(state) {
      const login = pending.get(state);
      pending.delete(state);
      return live(login);
    },
  };
}

export function redisPendingLogins(redis: Redis): PendingLogins {
  const unreachable = (cause: unknown) => new GatewayError('ERR_NOT_READY', 'The session store is unreachable; try again shortly.', { retryAfterS: 2, cause });
  return {
    async put(login) {
      await redis.set(`${PREFIX}${login.state}`, JSON.stringify(login), 'PX', LOGIN_TTL_MS).catch((error: unknown) => {
        throw unreachable(error);
      });
    },
    async take(state) {
      const raw = await redis.getdel(`${PREFIX}${state}`).catch((error: unknown) => {
        throw unreachable(error);
      });
      return live(raw === null ? undefined : (JSON.parse(raw) as PendingLogin));
    },
  };
}
