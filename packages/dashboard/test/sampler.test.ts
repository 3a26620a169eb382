import http from 'node:http';
import express from 'express';
import { trafficWindows } from '@vigil/core';
import { expressDashboard } from '../src';
import { HISTORY_POINTS, Sampler, resetSampler, sharedSampler } from '../src/sampler';
import { close, listen } from './helpers';

afterAll(() => {
  resetSampler();
});

describe('Sampler', () => {
  it('keeps at most 15 minutes of points', () => {
    const sampler = new Sampler();
    try {
      const start = Date.now();
      for (let i = 0; i < HISTORY_POINTS + 50; i++) sampler.tick(start + i * 1000);
      const points = sampler.points();
      expect(points).toHaveLength(HISTORY_POINTS);
      expect(points[0][0]).toBe(Math.round((start + 50 * 1000) / 1000));
      expect(points[points.length - 1]).toHaveLength(11);
    } finally {
      sampler.stop();
    }
  });

  it('publishes one payload a tick to every listener, with routes only while watched', () => {
    const sampler = new Sampler();
    try {
      sampler.configure({ maxRoutes: 10, maxTraces: 5, maxLogs: 5 }, 'svc');
      trafficWindows().record('/things/:id', 12, false);
      const received: string[][] = [[], []];
      const stops = received.map((list) => sampler.subscribe((payload) => list.push(payload)));
      sampler.tick();
      expect(received[0]).toHaveLength(1);
      expect(received[1][0]).toBe(received[0][0]); // built once, shared
      const payload = JSON.parse(received[0][0]) as { service: string; routes: Array<{ route: string }> };
      expect(payload.service).toBe('svc');
      expect(payload.routes.map((r) => r.route)).toContain('/things/:id');
      stops.forEach((stop) => stop());
      expect(sampler.clientCount).toBe(0);
    } finally {
      sampler.stop();
    }
  });

  it('is shared: one sampler however many dashboards', () => {
    expressDashboard();
    const first = sharedSampler();
    expressDashboard({ path: '/other' });
    expect(sharedSampler()).toBe(first);
  });

  it('ends open streams when the server stops listening, so shutdown is not held up', async () => {
    const app = express();
    app.use(expressDashboard());
    const { server, url } = await listen(app);
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(`${url}/_vigil/events`, resolve).on('error', reject);
    });
    expect(res.statusCode).toBe(200);
    let ended = false;
    const stream = new Promise<void>((resolve) => {
      res.resume();
      res.on('end', () => {
        ended = true;
        resolve();
      });
      res.on('close', () => resolve());
    });
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await stream;
    await closed;
    expect(ended).toBe(true);
    await close(server).catch(() => undefined);
  });
});
