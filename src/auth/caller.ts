import type { Grants } from './grants.ts';

/** Who is calling, once verified: what policy, budget, fairness, idempotency and audit go by. */
export interface Caller {
  subject: string;
  grants: Grants;
}
