// What a person is told when a call fails, and the one retry the app does on its own: after a
// 429, when Retry-After has passed, with a countdown meanwhile.

const GRANT = /role:([\w:.-]+)|scope:([\w:.-]+)/g;

/** "any of: role:CERT_ADMIN, scope:idn:nesr:read" in a 403's text, as words. */
export function missingGrants(text) {
  const names = [...text.matchAll(GRANT)].map(([, role, scope]) => (role ? `the role ${role}` : `the scope ${scope}`));
  return names.length === 0 ? undefined : names.join(' or ');
}

/** A GatewayProblem as a title and a sentence. */
export function describe(problem) {
  const id = problem.requestId ? ` (request ${problem.requestId})` : '';
  switch (problem.kind) {
    case 'aborted':
      return { title: 'Cancelled', text: problem.message };
    case 'cut':
      return { title: 'Download cut', text: `${problem.message}${id}` };
    case 'network':
      return { title: 'No answer', text: problem.message };
    default:
  }
  switch (problem.status) {
    case 401:
      return { title: 'Not logged in', text: `Log in again: ${problem.message}` };
    case 403: {
      const needed = missingGrants(problem.message);
      return { title: 'Not allowed', text: needed ? `This needs ${needed}, which you do not have.${id}` : `${problem.message}${id}` };
    }
    case 429:
      return { title: 'SailPoint’s budget is used up', text: 'Every front-end shares one budget of calls to SailPoint.' };
    case 503:
      // The gateway's text says which: the identity provider, or SailPoint's token endpoint.
      return { title: 'Unavailable', text: `${problem.message}${id}` };
    case 502:
    case 504:
      return { title: 'SailPoint did not answer properly', text: `${problem.message}${id}` };
    default:
      return { title: `Error ${problem.status}`, text: `${problem.message}${id}` };
  }
}

const sleep = (ms, signal) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason)), { once: true });
  });

/**
 * Runs `attempt`; after a 429 waits out Retry-After, calling `onCountdown(secondsLeft)` each
 * second, and tries again (at most `maxWaits` times). Any other failure is thrown as it is.
 */
export async function retryingAfter429(attempt, { onCountdown, signal, maxWaits = 5 }) {
  for (let waits = 0; ; waits += 1) {
    try {
      return await attempt();
    } catch (problem) {
      if (problem.status !== 429 || waits >= maxWaits) throw problem;
      for (let left = problem.retryAfterS ?? 1; left > 0; left -= 1) {
        onCountdown(left);
        await sleep(1000, signal);
      }
      onCountdown(0);
    }
  }
}
