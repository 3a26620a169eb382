import express from 'express';
import request from 'supertest';
import { observeExpress, runInExchange, trafficWindows, TrafficWindows } from '@vigil/core';
import { burnRateRule, createAlerts, errorRateRule } from '../src/index';
import { memoryChannel } from './helpers/memory-channel';

describe('alerts fed by real requests (core windows and exchanges)', () => {
  it('fires errorRateRule and burnRateRule from an Express app\'s 5xx answers', async () => {
    trafficWindows(); // the process-wide windows the rules read
    const mem = memoryChannel();
    const alerts = createAlerts({
      rules: [errorRateRule({ window: '1m', threshold: 0.2, byRoute: true }), burnRateRule({ objective: 0.99 })],
      channels: [mem.channel], autoStart: false, register: false, root: { groupWait: 0 },
    });
    const app = express();
    app.use((req, res, next) => runInExchange(observeExpress(req, res), next));
    app.get('/pay/:id', (req, res) => { res.status(Number(req.params.id) % 2 === 0 ? 500 : 200).send('x'); });
    app.get('/ok', (_req, res) => { res.send('ok'); });
    for (let i = 0; i < 10; i++) {
      await request(app).get(`/pay/${i}`);
      await request(app).get('/ok');
    }
    alerts.evaluate();
    await alerts.flush();
    const states = alerts.alerts().map((a) => `${a.name}:${a.labels.route ?? a.severity}:${a.state}`).sort();
    expect(states).toEqual(['ErrorBudgetBurn:critical:firing', 'ErrorBudgetBurn:warning:firing', 'HighErrorRate:/pay/:id:firing']);
    expect(alerts.alerts().find((a) => a.name === 'HighErrorRate')?.value).toBe(0.5);
    expect(mem.got.flatMap((n) => n.alerts.map((a) => a.labels.alertname)).sort()).toEqual(['ErrorBudgetBurn', 'HighErrorRate']); // the warning is inhibited
    await alerts.close(); // detaches the SLO counters from onExchangeEnd
  });

  it('feeds the long counters to an errorRateRule whose window is not one of the traffic windows', async () => {
    const traffic = new TrafficWindows({ windowsMs: [60_000, 900_000] }); // no 5 m window: the rule reads SloWindows
    const alerts = createAlerts({ rules: [errorRateRule({ name: 'Errors5m', window: '5m', threshold: 0.1 })], traffic, autoStart: false, register: false });
    const app = express();
    app.use((req, res, next) => runInExchange(observeExpress(req, res), next));
    app.get('/fail', (_req, res) => { res.status(500).send('x'); });
    for (let i = 0; i < 5; i++) await request(app).get('/fail');
    alerts.evaluate();
    expect(alerts.alerts().map((a) => [a.name, a.state, a.value])).toEqual([['Errors5m', 'firing', 1]]);
    await alerts.close();
  });
});
