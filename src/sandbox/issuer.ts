// A development token issuer: an ES256 key pair, a JWKS endpoint on loopback, and minting.
// Sandbox mode prints persona tokens from it; tests use it as the identity provider.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload, type CryptoKey } from 'jose';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export interface DevIssuer {
  issuer: string;
  audience: string;
  jwksUrl: string;
  /** JWKS requests served so far. */
  jwksRequests: number;
  /**
   * The signature of every token minted (what any leak of a token contains), so tests can prove
   * none reaches a log, a response or SailPoint.
   */
  mintedSignatures: string[];
  /** 'up' serves keys; 'down' resets every connection; 'error' answers 500. */
  mode: 'up' | 'down' | 'error';
  current: SigningKey;
  /** Signs a token with the current key; claims and header fields can be overridden. */
  mint(claims?: JWTPayload, options?: { expiresInS?: number; key?: SigningKey; kid?: string }): Promise<string>;
  /** A new current key, published in the JWKS (the old one stays published). */
  rotate(options?: { retireOld?: boolean }): Promise<SigningKey>;
  close(): Promise<void>;
}

export async function createSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = randomUUID();
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

export async function startDevIssuer(options: { issuer?: string; audience?: string } = {}): Promise<DevIssuer> {
  let published: SigningKey[] = [await createSigningKey()];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    issuer.jwksRequests += 1;
    if (issuer.mode === 'down') {
      req.socket.destroy();
      return;
    }
    if (issuer.mode === 'error') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('identity provider failure');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: published.map((k) => k.publicJwk) }));
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const issuer: DevIssuer = {
    issuer: options.issuer ?? 'https://idp.sandbox.local/',
    audience: options.audience ?? 'sailpoint-gateway',
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    jwksRequests: 0,
    mintedSignatures: [],
    mode: 'up',
    current: published[0] as SigningKey,
    async mint(claims = {}, mintOptions = {}) {
      const key = mintOptions.key ?? issuer.current;
      const nowS = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = {
        sub: 'user-1',
        iss: issuer.issuer,
        aud: issuer.audience,
        iat: nowS,
        exp: nowS + (mintOptions.expiresInS ?? 300),
        ...claims,
      };
      const token = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: mintOptions.kid ?? key.kid, typ: 'JWT' }).sign(key.privateKey);
      issuer.mintedSignatures.push(token.slice(token.lastIndexOf('.') + 1));
      return token;
    },
    async rotate(rotateOptions = {}) {
      const next = await createSigningKey();
      published = rotateOptions.retireOld ? [next] : [...published, next];
      issuer.current = next;
      return next;
    },
    async close() {
      server.close();
      for (const socket of sockets) socket.destroy();
      await once(server, 'close');
    },
  };
  return issuer;
}
