interface KoaRouterLayer {
  path: string | RegExp;
  methods: string[];
}

interface KoaRouterContext {
  method?: string;
  _matchedRoute?: string | RegExp;
  matched?: KoaRouterLayer[];
}

/**
 * The template of the `@koa/router` route that answered. `ctx._matchedRoute` holds the last layer
 * entered (koa-router#223): when that is `router.use()` middleware, the answer came from the last
 * route layer entered before it, so that one is returned.
 */
export function koaRouteTemplate(ctx: unknown): string | undefined {
  const c = ctx as KoaRouterContext;
  const last = c._matchedRoute;
  if (last === undefined) return undefined;
  const layers = c.matched;
  if (Array.isArray(layers)) {
    let at = -1;
    for (let i = layers.length - 1; i >= 0; i--) {
      if (layers[i].path === last) {
        at = i;
        break;
      }
    }
    if (at >= 0 && layers[at].methods.length === 0) {
      const method = c.method === 'HEAD' ? 'GET' : c.method;
      for (let i = at - 1; i >= 0; i--) {
        const layer = layers[i];
        if (layer.methods.length > 0 && (method === undefined || layer.methods.includes(method))) return String(layer.path);
      }
    }
  }
  return typeof last === 'string' ? last : String(last);
}
