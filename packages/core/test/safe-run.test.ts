import express from 'express';
import request from 'supertest';
import { observeExpress, onExchangeEnd, runInExchange, safeRun, setErrorHandler } from '../src';

describe('safeRun and setErrorHandler', () => {
  afterEach(() => setErrorHandler(undefined));

  it('reports a throwing hook to the handler and returns undefined', () => {
    const seen: Array<[string, unknown]> = [];
    setErrorHandler((kind, err) => seen.push([kind, err]));
    const err = new Error('hook failed');
    expect(safeRun('test.hook', () => { throw err; }, 1)).toBeUndefined();
    expect(safeRun('test.ok', (n: number) => n + 1, 1)).toBe(2);
    expect(seen).toEqual([['test.hook', err]]);
  });

  it('reports a rejected promise', async () => {
    const seen: string[] = [];
    setErrorHandler((kind) => seen.push(kind));
    safeRun('test.async', async () => { throw new Error('late'); }, undefined);
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual(['test.async']);
  });

  it('keeps a throwing sink away from the app', async () => {
    const seen: string[] = [];
    setErrorHandler((kind) => seen.push(kind));
    const stop = onExchangeEnd(() => { throw new Error('global sink failed'); });
    const app = express();
    app.use((req, res, next) => {
      const ex = observeExpress(req, res);
      ex.onEnd(() => { throw new Error('sink failed'); });
      runInExchange(ex, next);
    });
    app.get('/', (_q, s) => { s.send('fine'); });
    const res = await request(app).get('/');
    const again = await request(app).get('/');
    stop();
    expect(res.text).toBe('fine');
    expect(again.status).toBe(200);
    await new Promise((r) => setTimeout(r, 20));
    expect(seen.filter((k) => k === 'sink').length).toBe(4);
  });
});
