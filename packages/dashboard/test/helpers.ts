import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SseEvent {
  name: string;
  data: string;
}

/** Starts `handler` on 127.0.0.1 with an ephemeral port. */
export async function listen(handler: http.RequestListener): Promise<{ server: http.Server; url: string }> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Closes a server, including open event streams. */
export async function close(server: http.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** Reads Server-Sent Events from `url` until `count` have arrived (or fails after `timeoutMs`). */
export function readEvents(url: string, count: number, timeoutMs = 15000): Promise<{ status: number; headers: http.IncomingHttpHeaders; events: SseEvent[] }> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    let buffer = '';
    const req = http.get(url, (res) => {
      const timer = setTimeout(() => {
        req.destroy();
        reject(new Error(`only ${events.length} of ${count} events within ${timeoutMs} ms`));
      }, timeoutMs);
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) name = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length > 0) events.push({ name, data: data.join('\n') });
        }
        if (events.length >= count) {
          clearTimeout(timer);
          req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, events });
        }
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, events });
      });
    });
    req.on('error', (error) => {
      if (events.length < count) reject(error);
    });
  });
}

/** Polls `fn` until it returns a truthy value or the time is up. */
export async function until<T>(fn: () => T | Promise<T>, timeoutMs = 15000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
