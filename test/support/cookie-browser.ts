// A browser over plain HTTP for the login flows: a cookie jar (tough-cookie) and redirects followed
// by hand, so a test sees every hop and can stop at one.
import { CookieJar } from 'tough-cookie';

export interface Hop {
  url: string;
  status: number;
  location: string | undefined;
  body: string;
  headers: Headers;
}

export interface CookieBrowser {
  jar: CookieJar;
  /** One request, no redirect followed; cookies sent and stored. */
  request(url: string, init?: RequestInit): Promise<Hop>;
  /** Follows redirects until one leaves the given origins or a page answers; returns every hop. */
  follow(url: string, init?: RequestInit, stopAt?: (url: string) => boolean): Promise<Hop[]>;
}

export function cookieBrowser(): CookieBrowser {
  const jar = new CookieJar(undefined, { allowSecureOnLocal: true });
  async function request(url: string, init: RequestInit = {}): Promise<Hop> {
    const cookie = await jar.getCookieString(url);
    const headers = new Headers(init.headers);
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const setCookie of response.headers.getSetCookie()) await jar.setCookie(setCookie, url);
    const location = response.headers.get('location') ?? undefined;
    return { url, status: response.status, location: location && new URL(location, url).href, body: await response.text(), headers: response.headers };
  }
  return {
    jar,
    request,
    async follow(url, init, stopAt = () => false) {
      const hops: Hop[] = [];
      let next: string | undefined = url;
      let options = init;
      for (let i = 0; next && i < 20; i += 1) {
        const hop = await request(next, options);
        hops.push(hop);
        options = undefined;
        next = hop.status >= 300 && hop.status < 400 && hop.location && !stopAt(hop.location) ? hop.location : undefined;
      }
      return hops;
    },
  };
}
