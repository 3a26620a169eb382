export type {
  AccessLevel,
  BatchOptions,
  CreateLoggerOptions,
  ElasticsearchTransportOptions,
  HttpBatchTransportOptions,
  LevelName,
  LogDocument,
  LoggingOptions,
  LogTransport,
  SearchLogsOptions,
  TransportStats,
} from './types';
export { createLogger } from './logger';
export { expressLogging } from './express';
export { koaLogging } from './koa';
export { elasticsearchTransport } from './elasticsearch-transport';
export { searchLogs } from './search-logs';
export { httpBatchTransport } from './http-batch-transport';
export { isSecretName, maskHeaders, maskUrl, serializeError, REDACTED } from './secrets';
export type { LoggingSnapshot } from './package-info';
