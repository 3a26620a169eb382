import express from 'express';
import http from 'node:http';
import request from 'supertest';
import { onExchangeEnd, type Exchange } from '@vigil/core';
import { createHealth, expressHealth, type Health } from '../src';
import { probeSuite } from './probe-suite';

probeSuite('expressHealth', (health: Health, options: Record<string, unknown>) => {
  const app = express();
  app.use(expressHealth(health, options));
  app.get('/orders', (_req, res) => { res.send('app'); });
  return http.createServer(app);
});

describe('expressHealth', () => {
  it('works mounted on a sub-path, like a Router', async () => {
    const health = createHealth({ service: 'orders' }).register('database', () => true);
    const app = express();
    app.use('/internal', expressHealth(health));
    const res = await request(app).get('/internal/readyz/database');
    expect(res.status).toBe(200);
    expect(res.text).toBe('ok\n');
    expect((await request(app).get('/readyz')).status).toBe(404);
    const seen: Exchange[] = [];
    const stop = onExchangeEnd((ex) => seen.push(ex));
    try {
      await request(app).head('/internal/readyz/database');
      const start = Date.now();
      while (seen.length === 0 && Date.now() - start < 10_000) await new Promise((r) => setTimeout(r, 5));
      expect(seen[0]).toMatchObject({ route: '/internal/readyz/:check', quiet: true, method: 'HEAD' });
    } finally {
      stop();
      health.close();
    }
  });
});
