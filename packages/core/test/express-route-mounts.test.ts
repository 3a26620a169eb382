import express, { type Request, type Response } from 'express';
import request from 'supertest';
import type { Exchange } from '../src';
import { expressRouteTemplate } from '../src/express-route';
import { EXPRESS_VERSIONS, observedApp, routerStackOf, until, type ExpressModule } from './helpers';


const ok = (_req: Request, res: Response): void => { res.send('ok'); };

/** The route label of one GET request to `url`. */
async function routeOf(app: express.Express, ended: Exchange[], url: string): Promise<string | undefined> {
  const before = ended.length;
  await request(app).get(url).expect(200);
  await until(() => ended.length > before);
  return ended[ended.length - 1].route;
}

/** The route layer of `app`'s own router registered for `path`, as Express 5 or Express 4 keeps it. */
function routeRegisteredAt(app: express.Express, path: unknown): object {
  const stack = routerStackOf<{ route?: { path: unknown } }>(app);
  const layer = stack.find((l) => l.route !== undefined && JSON.stringify(l.route.path) === JSON.stringify(path));
  if (layer?.route === undefined) throw new Error('route not registered');
  return layer.route;
}

describe.each(EXPRESS_VERSIONS)('expressRouteTemplate with rare mount layouts (%s)', (_name, lib: ExpressModule) => {
  it('labels a sub-app mounted at several paths with the path each request came through', async () => {
    const { app, ended } = observedApp(lib);
    const shop = lib();
    shop.get('/items/:sku', ok);
    app.use(['/s1', '/s2'], shop);
    expect(await routeOf(app, ended, '/s1/items/1')).toBe('/s1/items/:sku');
    expect(await routeOf(app, ended, '/s2/items/2')).toBe('/s2/items/:sku');
    expect(await routeOf(app, ended, '/s1/items/3')).toBe('/s1/items/:sku');
  });

  it('labels a sub-app mounted by several app.use() calls with the last mount path (known limitation)', async () => {
    const { app, ended } = observedApp(lib);
    const shop = lib();
    shop.get('/items/:sku', ok);
    app.use('/a', shop);
    app.use('/c', shop);
    // Express keeps only the last mount path on the sub-app, and each mount's layer hides it in a closure
    expect(await routeOf(app, ended, '/c/items/1')).toBe('/c/items/:sku');
    expect(await routeOf(app, ended, '/a/items/2')).toBe('/c/items/:sku');
  });

  it('labels a sub-app mounted with router.use() with the prefixes of the router', async () => {
    const { app, ended } = observedApp(lib);
    const shop = lib();
    shop.get('/items/:sku', ok);
    const tenant = lib();
    tenant.get('/a/:x', ok);
    const api = lib.Router();
    api.use('/shop', shop);
    api.use('/t/:tenant', tenant);
    app.use('/api/:version', api);
    expect(await routeOf(app, ended, '/api/v1/shop/items/1')).toBe('/api/:version/shop/items/:sku');
    expect(await routeOf(app, ended, '/api/v2/shop/items/2')).toBe('/api/:version/shop/items/:sku');
    expect(await routeOf(app, ended, '/api/v1/t/acme/a/1')).toBe('/api/:version/t/:tenant/a/:x');
    expect(await routeOf(app, ended, '/api/v2/t/globex/a/2')).toBe('/api/:version/t/:tenant/a/:x');
  });

  it('matches an array route inside a sub-app mounted at a parametric path', async () => {
    const { app, ended } = observedApp(lib);
    const tenant = lib();
    tenant.get(['/a/:x', '/b/:y'], ok);
    app.use('/t/:tenant', tenant);
    expect(await routeOf(app, ended, '/t/acme/a/1')).toBe('/t/:tenant/a/:x');
    expect(await routeOf(app, ended, '/t/globex/b/2')).toBe('/t/:tenant/b/:y');
  });

  it('matches each level of a parametric sub-app mounted at several paths inside another', async () => {
    const { app, ended } = observedApp(lib);
    const outer = lib();
    const inner = lib();
    inner.get(['/deep/:d', '/flat'], ok);
    outer.use(['/in/:i', '/alt'], inner);
    app.use('/out/:o', outer);
    expect(await routeOf(app, ended, '/out/1/in/2/deep/3')).toBe('/out/:o/in/:i/deep/:d');
    expect(await routeOf(app, ended, '/out/1/alt/flat')).toBe('/out/:o/alt/flat');
  });

  it('labels a router shared by two apps with the mount path of the app that answered', async () => {
    const users = lib.Router();
    users.get('/users/:id', ok);
    const pub = observedApp(lib);
    pub.app.use('/api/v1', users);
    const admin = observedApp(lib);
    admin.app.use('/admin', users);
    expect(await routeOf(pub.app, pub.ended, '/api/v1/users/1')).toBe('/api/v1/users/:id');
    expect(await routeOf(admin.app, admin.ended, '/admin/users/2')).toBe('/admin/users/:id');
    expect(await routeOf(pub.app, pub.ended, '/api/v1/users/3')).toBe('/api/v1/users/:id');
  });

  it('labels routers mounted at several paths and array routes by the entry that matched', async () => {
    const { app, ended } = observedApp(lib);
    const twice = lib.Router();
    twice.get('/w/:id', ok);
    app.use('/m1', twice);
    app.use('/m2', twice);
    const arr = lib.Router();
    arr.get('/z/:id', ok);
    app.use(['/p1', '/p2/:q'], arr);
    app.get(['/x/:a', '/y/:b'], ok);
    expect(await routeOf(app, ended, '/m1/w/1')).toBe('/m1/w/:id');
    expect(await routeOf(app, ended, '/m2/w/2')).toBe('/m2/w/:id');
    expect(await routeOf(app, ended, '/p1/z/1')).toBe('/p1/z/:id');
    expect(await routeOf(app, ended, '/p2/42/z/1')).toBe('/p2/:q/z/:id');
    expect(await routeOf(app, ended, '/x/1')).toBe('/x/:a');
    expect(await routeOf(app, ended, '/y/2')).toBe('/y/:b');
  });

  it('takes the first entry of an array path, never all entries joined, when the path does not match', () => {
    const app = lib();
    app.get(['/a/:x', '/b/:y'], ok);
    const route = routeRegisteredAt(app, ['/a/:x', '/b/:y']);
    expect(expressRouteTemplate({ app, route }, '/elsewhere/1')).toBe('/a/:x');
    const root = lib();
    const tenant = lib();
    tenant.get(['/a/:x', '/b/:y'], ok);
    root.use(['/t/:tenant', '/u'], tenant);
    const inner = routeRegisteredAt(tenant, ['/a/:x', '/b/:y']);
    expect(expressRouteTemplate({ app: tenant, route: inner }, '/elsewhere/1')).toBe('/t/:tenant/a/:x');
  });

  it('still labels nested routers, parametric mounts and plain sub-apps by their full template', async () => {
    const { app, ended } = observedApp(lib);
    const projects = lib.Router({ mergeParams: true });
    projects.get('/projects/:pid', ok);
    app.use('/orgs/:orgId', projects);
    const api = lib.Router();
    const v1 = lib.Router();
    const users = lib.Router();
    users.get('/users/:id', ok);
    v1.use('/v1', users);
    api.use('/api', v1);
    app.use(api);
    const leaf = lib.Router();
    leaf.get('/leaf/:l', ok);
    const mid = lib.Router();
    mid.use('/mid/:m', leaf);
    app.use('/top/:t', mid);
    const shop = lib();
    shop.get('/items/:sku', ok);
    app.use('/shop', shop);
    const tenant = lib();
    tenant.get('/a/:x', ok);
    app.use('/t/:tenant', tenant);
    expect(await routeOf(app, ended, '/orgs/7/projects/9')).toBe('/orgs/:orgId/projects/:pid');
    expect(await routeOf(app, ended, '/orgs/8/projects/10')).toBe('/orgs/:orgId/projects/:pid');
    expect(await routeOf(app, ended, '/api/v1/users/42')).toBe('/api/v1/users/:id');
    expect(await routeOf(app, ended, '/top/1/mid/2/leaf/3')).toBe('/top/:t/mid/:m/leaf/:l');
    expect(await routeOf(app, ended, '/shop/items/abc')).toBe('/shop/items/:sku');
    expect(await routeOf(app, ended, '/t/acme/a/1')).toBe('/t/:tenant/a/:x');
  });
});
