const base = require('../../jest.package.js')(__dirname);

module.exports = {
  ...base,
  transform: {
    ...base.transform,
    // the OTLP exporter's dynamic import('http') needs help under jest (see the transform's comment)
    '/@opentelemetry/otlp-exporter-base/.+\\.js$': '<rootDir>/test/support/builtin-dynamic-import.js',
  },
  transformIgnorePatterns: ['/node_modules/(?!@opentelemetry/otlp-exporter-base/)'],
};
