// The gateway, as this app calls it: one function for every call, and one way of reading what
// went wrong. Two modes: same origin with the session cookie (the gateway ran the login), or
// another origin with a bearer token the person pasted (held in this module's memory only).

/** What a failed call said, in the contract's shapes, ready for a person to read. */
export class GatewayProblem extends Error {
  constructor({ status, text, retryAfterS, requestId, kind }) {
    super(text);
    this.status = status;
    this.retryAfterS = retryAfterS;
    this.requestId = requestId;
    /** 'http' for an answer, 'network' when none came, 'cut' for a download cut mid-way, 'aborted'. */
    this.kind = kind;
  }
}

/** The error text of a gateway answer: ErrorResponseDto messages, {"error"} on 401, {"message"} on 429. */
export async function problemOf(response) {
  let text = `${response.status} ${response.statusText}`.trim();
  try {
    const body = await response.json();
    text = body?.messages?.[0]?.text ?? body?.error ?? body?.message ?? text;
  } catch {
    // Not JSON (a proxy's page): the status line is all there is.
  }
  const retryAfter = Number(response.headers.get('retry-after'));
  return new GatewayProblem({
    status: response.status,
    text,
    retryAfterS: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
    requestId: response.headers.get('x-request-id') ?? undefined,
    kind: 'http',
  });
}

/** `origin` empty: this page's own origin, session mode. Another origin: bearer mode, setToken() first. */
export function createGateway(origin = '') {
  const session = origin === '';
  let token = '';
  const sessionMode = () => session;
  return {
    origin,
    sessionMode,
    setToken(value) {
      token = value.trim();
    },
    /** A URL on the gateway, for links a top-level navigation follows (session mode only). */
    url: (path) => `${origin}${path}`,
    /**
     * One call. Resolves with the Response when it is 2xx; rejects with a GatewayProblem
     * otherwise, or when no answer came.
     */
    async call(method, path, { headers = {}, signal } = {}) {
      const auth = sessionMode() ? { 'X-CSRF': '1' } : { Authorization: `Bearer ${token}` };
      let response;
      try {
        response = await fetch(`${origin}${path}`, {
          method,
          headers: { Accept: 'application/json, text/plain, */*', ...auth, ...headers },
          // The session cookie goes along on this origin; a bearer caller sends no cookies at all.
          credentials: sessionMode() ? 'same-origin' : 'omit',
          signal,
        });
      } catch (error) {
        if (error.name === 'AbortError') throw new GatewayProblem({ status: 0, text: 'Cancelled.', kind: 'aborted' });
        throw new GatewayProblem({ status: 0, text: 'The gateway could not be reached (network error, or a cross-origin call it does not allow).', kind: 'network' });
      }
      if (!response.ok) throw await problemOf(response);
      return response;
    },
  };
}
