// Jest (without --experimental-vm-modules) cannot run `import('http')` inside node_modules code.
// The OTLP exporter loads `http`/`https` that way; for tests only, this transform turns those two
// dynamic imports of Node built-ins into `Promise.resolve(require(...))`. Nothing else changes.
module.exports = {
  process(source) {
    return { code: source.replace(/\bimport\((['"])(https?)\1\)/g, 'Promise.resolve(require($1$2$1))') };
  },
  getCacheKey(source) {
    return require('node:crypto').createHash('sha1').update('builtin-dynamic-import-v1').update(source).digest('hex');
  },
};
