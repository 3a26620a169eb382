import request from 'supertest';
import { observeExpress, runInExchange } from '@vigil/core';
import { expressDashboard } from '../src';
import { resetSampler } from '../src/sampler';

// Express 4.18+ is still common: the same middleware works there (installed as the `express4` alias)
// eslint-disable-next-line @typescript-eslint/no-require-imports
const express4 = require('express4') as () => import('express').Express;

afterAll(() => {
  resetSampler();
});

describe('expressDashboard on Express 4', () => {
  it('serves the page, its assets and the snapshot with route templates, under a mounted sub-app', async () => {
    const app = express4();
    app.use((req, res, next) => runInExchange(observeExpress(req, res), next));
    const admin = express4();
    admin.use(expressDashboard({ path: '/dash' }));
    app.use('/admin', admin);
    app.get('/users/:id', (req, res) => {
      res.json({ id: req.params.id });
    });
    await request(app).get('/users/4').expect(200);
    const page = await request(app).get('/admin/dash').expect(200);
    expect(page.text).toContain('src="/admin/dash/assets/dashboard.js"');
    await request(app).get('/admin/dash/assets/uplot.css').expect(200);
    const snap = await request(app).get('/admin/dash/snapshot.json').expect(200);
    expect(snap.body.routes.map((r: { route: string }) => r.route)).toContain('/users/:id');
  });
});
