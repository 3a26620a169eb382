import request from 'supertest';
import { mergeableExpressMiddleware, observeExpress, runInExchange, UNMATCHED_ROUTE, type Exchange } from '../src';
import { express4 } from './helpers';


describe('observeExpress on Express 4', () => {
  it('rebuilds templates of nested and parametric mounts from the layer regexps', async () => {
    const app = express4();
    const ended: Exchange[] = [];
    app.use((req, res, next) => {
      const ex = observeExpress(req, res);
      ex.onEnd((done) => ended.push(done));
      runInExchange(ex, next);
    });
    const projects = express4.Router({ mergeParams: true });
    projects.get('/projects/:pid', (_req, res) => { res.send('p'); });
    const api = express4.Router();
    api.use('/orgs/:orgId', projects);
    app.use('/api', api);
    app.get('/boom', () => { throw new Error('boom'); });
    await request(app).get('/api/orgs/12/projects/34');
    await request(app).get('/nowhere');
    await request(app).get('/boom');
    await new Promise((r) => setTimeout(r, 30));
    expect(ended.map((e) => e.route)).toEqual(['/api/orgs/:orgId/projects/:pid', UNMATCHED_ROUTE, '/boom']);
    expect(ended[2].outcome).toBe('error');
    expect((ended[2].error as Error).message).toBe('boom');
  });

  it('gives adjacent vigil middlewares one layer (fast_slash layers), in the same order', async () => {
    const app = express4();
    const seen: string[] = [];
    for (const name of ['a', 'b']) {
      app.use(
        mergeableExpressMiddleware(function step(req: import('express').Request, res: import('express').Response, next: import('express').NextFunction) {
          seen.push(name);
          runInExchange(observeExpress(req, res), next);
        }),
      );
    }
    app.get('/x', (_req, res) => { res.send('x'); });
    await request(app).get('/x').expect(200, 'x');
    await request(app).get('/x').expect(200, 'x');
    expect(seen).toEqual(['a', 'b', 'a', 'b']);
    const names = (app as unknown as { _router: { stack: Array<{ name: string }> } })._router.stack.map((l) => l.name);
    expect(names.filter((n) => n === 'vigil')).toHaveLength(1);
    expect(names).not.toContain('step');
  });
});
