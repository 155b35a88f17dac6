import { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Express } from 'express';

/**
 * Request and response classes for node:http whose objects are born with an Express app's
 * prototypes. Express's app.handle gives every request and response the app's prototypes with
 * Object.setPrototypeOf, which moves each object to a new hidden class; when an object already
 * has that prototype, the call changes nothing. The server is created before its app exists (it
 * listens first), so the app adopts these prototypes once it is built.
 */
export interface ExpressPrototypes {
  IncomingMessage: typeof IncomingMessage;
  ServerResponse: typeof ServerResponse;
  /** Makes these the app's request and response prototypes, before it serves. */
  adopt(app: Express): void;
}

export function expressPrototypes(): ExpressPrototypes {
  class AppRequest extends IncomingMessage {}
  class AppResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {}
  Object.setPrototypeOf(AppRequest.prototype, express.request);
  Object.setPrototypeOf(AppResponse.prototype, express.response);
  return {
    IncomingMessage: AppRequest,
    ServerResponse: AppResponse,
    adopt(app) {
      // What Express's own app.request and app.response hold besides their prototype: the app.
      for (const prototype of [AppRequest.prototype, AppResponse.prototype]) {
        Object.defineProperty(prototype, 'app', { configurable: true, enumerable: true, writable: true, value: app });
      }
      app.request = AppRequest.prototype as unknown as Express['request'];
      app.response = AppResponse.prototype as unknown as Express['response'];
    },
  };
}
