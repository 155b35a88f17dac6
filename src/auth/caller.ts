import type { Grants } from './grants.ts';

/** Who is calling, once verified: what policy, budget, fairness, idempotency and audit go by. */
export interface Caller {
  subject: string;
  grants: Grants;
  /** How the caller arrived; recorded in the audit trail, changing nothing else. */
  via: 'bearer' | 'session';
}
