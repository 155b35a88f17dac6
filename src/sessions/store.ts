// Server-side sessions: what a browser's opaque cookie id stands for. In process and bounded
// here (oldest out first); the Redis store shares them across replicas.
export interface Session {
  id: string;
  subject: string;
  name: string | undefined;
  /** The verified claims roles and scopes are read from, under the same rules as bearer tokens. */
  claims: Record<string, unknown>;
  accessToken: string;
  refreshToken: string | undefined;
  idToken: string | undefined;
  /** The provider's session id (sid), for back-channel logout. */
  providerSid: string | undefined;
  accessExpiresAtMs: number;
  /** When the access token in use was obtained: it is renewed at 80 % of its lifetime. */
  accessObtainedAtMs: number;
  createdAtMs: number;
  lastSeenAtMs: number;
}

export interface SessionLimits {
  idleTimeoutS: number;
  maxAgeS: number;
  maxSessions: number;
}

export interface SessionStore {
  put(session: Session): Promise<void>;
  /** The live session, its idle clock restarted; undefined when unknown, idle too long or too old. */
  touch(id: string, nowMs?: number): Promise<Session | undefined>;
  delete(id: string): Promise<void>;
  /** Ends every session of a provider session (or subject): back-channel logout. */
  deleteWhere(match: { providerSid?: string; subject?: string }): Promise<number>;
  size(): number;
  /** For readiness: a store that cannot answer is cookie callers refused (503), bearer callers served. */
  status(): { ready: true; degraded: boolean; detail: string };
}

export const expired = (session: Session, limits: SessionLimits, nowMs: number) =>
  nowMs - session.lastSeenAtMs > limits.idleTimeoutS * 1000 || nowMs - session.createdAtMs > limits.maxAgeS * 1000;

export function memorySessionStore(limits: SessionLimits): SessionStore {
  const sessions = new Map<string, Session>();
  return {
    async put(session) {
      sessions.delete(session.id);
      while (sessions.size >= limits.maxSessions) sessions.delete(sessions.keys().next().value as string);
      sessions.set(session.id, session);
    },
    async touch(id, nowMs = Date.now()) {
      const session = sessions.get(id);
      if (!session) return undefined;
      if (expired(session, limits, nowMs)) {
        sessions.delete(id);
        return undefined;
      }
      session.lastSeenAtMs = nowMs;
      return session;
    },
    async delete(id) {
      sessions.delete(id);
    },
    async deleteWhere(match) {
      let ended = 0;
      for (const [id, session] of sessions) {
        if ((match.providerSid !== undefined && session.providerSid === match.providerSid) || (match.subject !== undefined && session.subject === match.subject)) {
          sessions.delete(id);
          ended += 1;
        }
      }
      return ended;
    },
    size: () => sessions.size,
    status: () => ({ ready: true, degraded: false, detail: `in process: ${sessions.size} sessions (at most ${limits.maxSessions})` }),
  };
}
