import { type NextFunction, type Request, type Response } from 'express';
import request from 'supertest';
import { EXPRESS_VERSIONS, exchangeOf, observedApp, routerStackOf, type ExpressModule } from './helpers';

type Fn = ((...args: never[]) => unknown) & { stack?: Layer[]; handle?: unknown; set?: unknown };
interface Layer {
  name: string;
  handle: Fn;
  route?: { stack: Layer[] };
}

/** What an app can rely on about one of its layers: the layer, its handle, the handle's name and arity. */
interface Seen {
  where: string;
  layer: Layer;
  handle: Fn;
  name: string;
  length: number;
}

const VIGIL_LAYERS = ['vigilCaptureError', 'vigilRouteEnd'];

function stackOf(app: unknown): Layer[] {
  return routerStackOf<Layer>(app);
}

/** Every layer of a stack, its routes, nested routers and sub-apps mounted with router.use(), with its handle as now. */
function snapshot(stack: Layer[], where: string, out: Seen[] = [], stacks: Map<Layer[], number> = new Map()): { layers: Seen[]; stacks: Map<Layer[], number> } {
  stacks.set(stack, stack.length);
  stack.forEach((layer, i) => {
    const at = `${where}[${i}] ${layer.name}`;
    out.push({ where: at, layer, handle: layer.handle, name: layer.handle.name, length: layer.handle.length });
    if (layer.route !== undefined) snapshot(layer.route.stack, at, out, stacks);
    else if (Array.isArray(layer.handle.stack)) snapshot(layer.handle.stack, at, out, stacks);
    else if (typeof layer.handle.handle === 'function' && typeof layer.handle.set === 'function') snapshot(stackOf(layer.handle), at, out, stacks);
  });
  return { layers: out, stacks };
}

describe.each(EXPRESS_VERSIONS)("the app's own layers after requests (%s)", (_name, lib: ExpressModule) => {
  it('keeps every handle of the app, its routers, routes and sub-apps: same function, name and length; no layer added or moved but vigil\'s two at the root', async () => {
    const { app, ended } = observedApp(lib);
    function maintenance(_req: Request, _res: Response, next: NextFunction): void { next(); }
    function showUser(_req: Request, res: Response): void { res.send('user'); }
    function prepare(req: Request, res: Response, next: NextFunction): void { res.locals.id = req.params.id; next(); }
    function passOn(_req: Request, _res: Response, next: NextFunction): void { next(); }
    function boom(): void { throw new Error('boom'); }
    function apiAuth(_req: Request, _res: Response, next: NextFunction): void { next(); }
    function apiFallback(_req: Request, _res: Response, next: NextFunction): void { next(); }
    function apiErrors(_err: Error, _req: Request, res: Response, _next: NextFunction): void { res.status(500).send('api error'); }
    function routeErrors(_err: Error, _req: Request, res: Response, _next: NextFunction): void { res.status(500).send('route error'); }
    function showItem(_req: Request, res: Response): void { res.send('item'); }
    function shopErrors(_err: Error, _req: Request, res: Response, _next: NextFunction): void { res.status(500).send('shop error'); }
    function render(_req: Request, res: Response, next: NextFunction): void { if (res.locals.id === undefined) next(); else res.send(`rendered ${String(res.locals.id)}`); }
    function notFound(_req: Request, res: Response): void { res.status(404).send('nf'); }
    function onError(_err: Error, _req: Request, res: Response, _next: NextFunction): void { res.status(500).send('err'); }

    app.use(maintenance);
    app.get('/users/:id', showUser);
    app.get('/prepared/:id', prepare);
    app.get('/own-errors', boom, routeErrors);
    const api = lib.Router();
    api.use(apiAuth);
    api.get('/boom', boom);
    api.get('/pass', passOn);
    const tenant = lib();
    tenant.get('/t/:x', showItem);
    tenant.use(shopErrors);
    api.use('/tenant', tenant);
    api.use(apiFallback);
    api.use(apiErrors);
    app.use('/api', api);
    const shop = lib();
    shop.get('/items/:sku', showItem);
    shop.get('/broken', boom);
    shop.use(shopErrors);
    app.use('/shop', shop);
    // mounted, but no request below goes through it
    const admin = lib();
    admin.get('/panel', showItem);
    app.use('/admin', admin);
    app.use(render);
    app.use(notFound);
    app.use(onError);

    const root = snapshot(stackOf(app), 'app');
    const shops = snapshot(stackOf(shop), 'shop');
    const admins = snapshot(stackOf(admin), 'admin');
    const all = [...root.layers, ...shops.layers, ...admins.layers];
    const rootLayers = [...stackOf(app)];

    const answers: Array<[string, number, string]> = [
      ['/users/1', 200, 'user'],
      ['/prepared/7', 200, 'rendered 7'],
      ['/own-errors', 500, 'route error'],
      ['/api/boom', 500, 'api error'],
      ['/api/pass', 404, 'nf'],
      ['/api/tenant/t/1', 200, 'item'],
      ['/shop/items/1', 200, 'item'],
      ['/shop/broken', 500, 'shop error'],
      ['/nothing', 404, 'nf'],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [url, status, body] of answers) await request(app).get(url).expect(status, body);
    }
    expect((await exchangeOf(app, ended, '/prepared/8')).route).toBe('/prepared/:id');

    for (const seen of all) {
      expect({ where: seen.where, same: seen.layer.handle === seen.handle, name: seen.layer.handle.name, length: seen.layer.handle.length }).toEqual({
        where: seen.where,
        same: true,
        name: seen.name,
        length: seen.length,
      });
    }
    for (const [stack, length] of [...root.stacks, ...shops.stacks, ...admins.stacks]) {
      if (stack === root.stacks.keys().next().value) continue; // the root's, checked below
      expect(stack.length).toBe(length);
    }
    // the root has the app's layers in the same order, then vigil's error capture and route-end marker
    const now = stackOf(app);
    const own = now.filter((layer) => !VIGIL_LAYERS.includes(layer.name));
    expect(own).toHaveLength(rootLayers.length);
    own.forEach((layer, i) => expect(layer).toBe(rootLayers[i]));
    expect(now.filter((layer) => VIGIL_LAYERS.includes(layer.name)).map((layer) => layer.name)).toEqual(VIGIL_LAYERS);
    expect(now[now.length - 1].name).toBe('vigilRouteEnd');
    // what an app that looks its own functions up finds
    expect(now.findIndex((layer) => layer.handle === notFound)).toBe(rootLayers.findIndex((layer) => layer.handle === notFound));
    const apiStack = api.stack as unknown as Layer[];
    expect(apiStack.findIndex((layer) => layer.handle === apiErrors)).toBeGreaterThan(0);
    expect(apiStack.findIndex((layer) => layer.handle === apiFallback)).toBeGreaterThan(0);
  });

  it('keeps the handle Express put on the layer of a sub-app mounted with app.use(), whether or not requests went through it', async () => {
    const { app } = observedApp(lib);
    const shop = lib();
    shop.get('/items/:sku', (_req, res) => { res.send('item'); });
    const admin = lib();
    admin.get('/panel', (_req, res) => { res.send('panel'); });
    app.use('/shop', shop);
    app.use('/admin', admin);
    app.get('/users/:id', (_req, res) => { res.send('user'); });
    const mounts = stackOf(app).filter((layer) => layer.handle.name === 'mounted_app');
    const handles = mounts.map((layer) => layer.handle);
    expect(handles).toHaveLength(2);
    await request(app).get('/users/1').expect(200);
    expect(mounts.map((layer) => layer.handle)).toEqual(handles);
    await request(app).get('/shop/items/1').expect(200);
    expect(mounts[0].handle).toBe(handles[0]);
    expect(mounts[1].handle).toBe(handles[1]);
  });
});
