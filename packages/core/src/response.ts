/**
 * Response accessors taken once from `OutgoingMessage.prototype`. Express 5 swaps the prototype of
 * every `req` and `res` (`Object.setPrototypeOf`), which gives each response a hidden class V8 has
 * not seen, so `res.setHeader(...)` or `res.headersSent` is a slow prototype-chain lookup on every
 * request. Calling the functions directly skips that lookup and does exactly what the methods do.
 * Any other response object (the HTTP/2 compatibility API) uses plain property access.
 */
import { OutgoingMessage, type ServerResponse } from 'node:http';

type AnyResponse = ServerResponse | OutgoingMessage;

const proto = OutgoingMessage.prototype;
const protoGetHeader = proto.getHeader;
const protoSetHeader = proto.setHeader;
const protoOn = proto.on;
const writableFinishedGetter = Object.getOwnPropertyDescriptor(proto, 'writableFinished')?.get;
const headersSentGetter = Object.getOwnPropertyDescriptor(proto, 'headersSent')?.get;

/**
 * `res.getHeader(name)`, without the prototype lookup.
 *
 * @example
 * ```ts
 * const length = responseHeader(res, 'content-length');
 * ```
 */
export function responseHeader(res: AnyResponse, name: string): ReturnType<ServerResponse['getHeader']> {
  return res instanceof OutgoingMessage ? protoGetHeader.call(res, name) : (res as ServerResponse).getHeader(name);
}

/**
 * `res.setHeader(name, value)` (same validation, same errors), without the prototype lookup.
 *
 * @example
 * ```ts
 * if (!responseHeadersSent(res)) setResponseHeader(res, 'traceresponse', value);
 * ```
 */
export function setResponseHeader(res: AnyResponse, name: string, value: string | number | readonly string[]): void {
  if (res instanceof OutgoingMessage) protoSetHeader.call(res, name, value);
  else (res as ServerResponse).setHeader(name, value);
}

/**
 * `res.headersSent`, without the prototype lookup.
 *
 * @example
 * ```ts
 * if (!responseHeadersSent(res)) setResponseHeader(res, 'x-request-id', id);
 * ```
 */
export function responseHeadersSent(res: AnyResponse): boolean {
  return headersSentGetter !== undefined && res instanceof OutgoingMessage ? headersSentGetter.call(res) : (res as ServerResponse).headersSent;
}

/**
 * `res.writableFinished` (the whole response was handed to the OS), without the prototype lookup.
 *
 * @example
 * ```ts
 * const complete = responseFinished(res);
 * ```
 */
export function responseFinished(res: AnyResponse): boolean {
  return writableFinishedGetter !== undefined && res instanceof OutgoingMessage ? writableFinishedGetter.call(res) : (res as ServerResponse).writableFinished;
}

/**
 * `res.on(event, listener)`, without the prototype lookup.
 *
 * @example
 * ```ts
 * onResponse(res, 'close', onClose);
 * ```
 */
export function onResponse(res: AnyResponse, event: string, listener: (this: ServerResponse) => void): void {
  if (res instanceof OutgoingMessage) protoOn.call(res, event, listener as () => void);
  else (res as ServerResponse).on(event, listener);
}
