import { compilePathFilter, setErrorHandler, type PathMatcher } from '../src';

describe('compilePathFilter', () => {
  afterEach(() => {
    setErrorHandler(undefined);
    jest.restoreAllMocks();
  });

  it('gives undefined for an absent or empty list, so a middleware skips the check', () => {
    expect(compilePathFilter(undefined, 'test ignorePaths')).toBeUndefined();
    expect(compilePathFilter([], 'test ignorePaths')).toBeUndefined();
  });

  it('matches a string exactly, with one trailing slash removed and in any letter case, as Express and Koa route', () => {
    const ignored = compilePathFilter(['/healthz', '/Api/Status/'], 'test ignorePaths')!;
    for (const path of ['/healthz', '/healthz/', '/HEALTHZ', '/HealthZ/', '/api/status', '/API/STATUS/', '/Api/Status/']) {
      expect([path, ignored(path)]).toEqual([path, true]);
    }
    for (const path of ['/healthz//', '/healthzx', '/health', '/healthz/deep', '/x/healthz', '/', '']) {
      expect([path, ignored(path)]).toEqual([path, false]);
    }
  });

  it('matches the root only as itself', () => {
    const ignored = compilePathFilter(['/'], 'test ignorePaths')!;
    expect(ignored('/')).toBe(true);
    expect(ignored('/x')).toBe(false);
  });

  it('folds nothing for a path already lower case without a trailing slash (no allocation)', () => {
    const ignored = compilePathFilter(['/healthz'], 'test ignorePaths')!;
    const lower = jest.spyOn(String.prototype, 'toLowerCase');
    const slice = jest.spyOn(String.prototype, 'slice');
    const fast = [ignored('/healthz'), ignored('/users/42')];
    const fastCalls = lower.mock.calls.length + slice.mock.calls.length;
    const folded = ignored('/Users/42/');
    const foldedCalls = lower.mock.calls.length;
    jest.restoreAllMocks();
    expect(fast).toEqual([true, false]);
    expect(fastCalls).toBe(0);
    expect(folded).toBe(false);
    expect(foldedCalls).toBe(1);
  });

  it('tests RegExps on the path as received, their lastIndex reset (g and y flags are harmless)', () => {
    const global = /^\/static\//g;
    const ignored = compilePathFilter([global, /\.MAP$/y, /^\/assets\//i], 'test ignorePaths')!;
    expect(ignored('/static/app.js')).toBe(true);
    expect(ignored('/static/app.js')).toBe(true);
    expect(global.lastIndex).toBeGreaterThan(0);
    expect(ignored('/static/app.js')).toBe(true);
    expect(ignored('/STATIC/app.js')).toBe(false); // the RegExp's own flags decide the case
    expect(ignored('/ASSETS/logo.png')).toBe(true);
    expect(ignored('/users/1')).toBe(false);
  });

  it('runs predicates on the path; one that throws matches nothing and is reported under the kind given', () => {
    const seen: Array<[string, unknown]> = [];
    setErrorHandler((kind, error) => seen.push([kind, error]));
    const failure = new Error('predicate failed');
    const list: PathMatcher[] = [
      (path) => {
        if (path === '/explode') throw failure;
        return false;
      },
      (path) => path.endsWith('.ico'),
    ];
    const ignored = compilePathFilter(list, 'test ignorePaths', 'test.ignorePaths')!;
    expect(ignored('/favicon.ico')).toBe(true);
    expect(ignored('/users/1')).toBe(false);
    expect(ignored('/explode')).toBe(false);
    expect(seen).toEqual([['test.ignorePaths', failure]]);
  });

  it('reports under `where` when no kind is given', () => {
    const kinds: string[] = [];
    setErrorHandler((kind) => kinds.push(kind));
    const ignored = compilePathFilter([() => { throw new Error('no'); }], 'test ignorePaths')!;
    expect(ignored('/a')).toBe(false);
    expect(kinds).toEqual(['test ignorePaths']);
  });

  it('mixes strings, RegExps and predicates in one list', () => {
    const ignored = compilePathFilter(['/healthz', /^\/static\//, (p) => p === '/ping'], 'test ignorePaths')!;
    expect(['/HEALTHZ/', '/static/a.css', '/ping', '/users/1'].map(ignored)).toEqual([true, true, true, false]);
  });

  it('throws a precise TypeError at compile time for a bad list or entry', () => {
    const compile = (list: unknown): unknown => compilePathFilter(list as PathMatcher[], 'expressThing ignorePaths');
    expect(() => compile('/healthz')).toThrow(new TypeError('vigil: expressThing ignorePaths must be an array of paths, RegExps or functions (path) => boolean, got "/healthz"'));
    expect(() => compile(null)).toThrow(/^vigil: expressThing ignorePaths must be an array .*got null$/);
    expect(() => compile({})).toThrow(TypeError);
    expect(() => compile(['/ok', 42])).toThrow(new TypeError('vigil: expressThing ignorePaths[1] must be a path starting with "/", a RegExp or a function (path) => boolean, got number'));
    expect(() => compile(['healthz'])).toThrow(/^vigil: expressThing ignorePaths\[0\] must be a path starting with "\/".*got "healthz"$/);
    expect(() => compile([''])).toThrow(/ignorePaths\[0\] must be a path starting with "\/"/);
    expect(() => compile([null])).toThrow(/ignorePaths\[0\] .*got null$/);
    expect(() => compile([['/nested']])).toThrow(/ignorePaths\[0\] .*got an array$/);
    expect(() => compile(['/healthz?full=1'])).toThrow(/^vigil: expressThing ignorePaths\[0\] must be a path without a query string/);
  });
});
