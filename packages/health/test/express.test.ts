import express from 'express';
import http from 'node:http';
import request from 'supertest';
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
    health.close();
  });
});
