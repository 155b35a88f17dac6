import { createServer, STATUS_CODES, type RequestListener, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ServerSettings } from '../config.ts';
import { errorReply, GatewayError, type ErrorCode } from '../errors.ts';
import { newRequestId } from './context.ts';
import type { ExpressPrototypes } from './express-prototypes.ts';

// Node checks header and request deadlines on a timer of this period, so a deadline is enforced
// within one period after it passes (Node's own default period is 30 s).
const DEADLINE_CHECK_MS = 500;

/** Errors Node raises before a request exists, answered in the contract's shape. */
function clientErrorCode(error: NodeJS.ErrnoException): ErrorCode {
  if (error.code === 'HPE_HEADER_OVERFLOW') return 'ERR_HEADERS_TOO_LARGE';
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'ERR_REQUEST_TIMEOUT';
  return 'ERR_BAD_REQUEST';
}

const CLIENT_ERROR_TEXT: Partial<Record<ErrorCode, string>> = {
  ERR_HEADERS_TOO_LARGE: 'The request headers are too large.',
  ERR_REQUEST_TIMEOUT: 'The request was not received in time.',
  ERR_BAD_REQUEST: 'The request is not valid HTTP.',
};

function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // A reset or a half-written answer leaves nothing to say: just let go of the socket.
  if (error.code === 'ECONNRESET' || !socket.writable || (socket as Duplex & { _httpMessage?: unknown })._httpMessage) {
    socket.destroy();
    return;
  }
  const code = clientErrorCode(error);
  const requestId = newRequestId();
  const reply = errorReply(new GatewayError(code, CLIENT_ERROR_TEXT[code] ?? 'Bad request.'), requestId);
  const body = JSON.stringify(reply.body);
  socket.end(
    `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status]}\r\n` +
      'content-type: application/json; charset=utf-8\r\n' +
      `x-request-id: ${requestId}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n` +
      'cache-control: no-store\r\nconnection: close\r\n\r\n' +
      body,
  );
}

/**
 * The listening server with the limits that keep slow and hostile clients from holding it:
 * a bound on open connections (beyond it new ones are closed at once, so silent sockets cannot
 * exhaust the file descriptors legitimate callers and the upstream pool need), a deadline for the
 * headers and for the whole request (not for the answer, so a long download on a slow link is
 * unaffected), a header size limit, and keep-alive limits.
 */
export function createHttpServer(
  app: RequestListener,
  settings: ServerSettings,
  onRefused: () => void = () => {},
  prototypes?: Pick<ExpressPrototypes, 'IncomingMessage' | 'ServerResponse'>,
): Server {
  const server = createServer(
    {
      ...(prototypes && { IncomingMessage: prototypes.IncomingMessage, ServerResponse: prototypes.ServerResponse }),
      maxHeaderSize: settings.maxHeaderBytes,
      headersTimeout: settings.headersTimeoutMs,
      requestTimeout: settings.requestTimeoutMs,
      connectionsCheckingInterval: DEADLINE_CHECK_MS,
      requireHostHeader: true,
    },
    app,
  );
  server.maxConnections = settings.maxConnections;
  server.on('drop', onRefused);
  server.keepAliveTimeout = settings.keepAliveTimeoutMs;
  server.maxRequestsPerSocket = settings.maxRequestsPerSocket;
  server.on('clientError', answerClientError);
  return server;
}
