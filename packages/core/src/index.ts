export type {
  AlertsSnapshot,
  ContextBackend,
  Exchange,
  ExchangeSink,
  Framework,
  HealthCheckSnapshot,
  HealthSnapshot,
  HealthTransition,
  LogEvent,
  Outcome,
  PackageInfo,
  RequestIdOptions,
  TraceIds,
  TraceSummary,
} from './types';
export { onExchangeEnd, findExchange, setExchangeRoute, isServerError, UNMATCHED_ROUTE, CLIENT_CLOSED_STATUS, SERVER_TIMEOUT_STATUS } from './exchange';
export { observeExpress } from './express';
export { mergeableExpressMiddleware } from './express-merge';
export { responseHeader, setResponseHeader, responseHeadersSent, responseFinished, onResponse } from './response';
export { observeKoa, runKoaDownstream, continueKoa } from './koa';
export { observeNode } from './node';
export {
  currentExchange,
  runInExchange,
  continueExpress,
  enableRequestContext,
  requestContextEnabled,
  setContextBackend,
  setTraceIdsReader,
  activeTraceIds,
} from './context';
export { configureRequestId, generateRequestId, isValidRequestId, requestIdHeader } from './request-id';
export { normalizePath } from './normalize-path';
export { compilePathFilter } from './path-filter';
export type { PathFilter, PathMatcher } from './path-filter';
export { CardinalityGuard } from './cardinality-guard';
export type { CardinalityGuardOptions } from './cardinality-guard';
export { RollingWindow } from './rolling-window';
export type { RollingWindowOptions, WindowStats } from './rolling-window';
export { TrafficWindows, trafficWindows } from './traffic-windows';
export type { TrafficWindowsOptions } from './traffic-windows';
export { quantiles, apdex } from './stats';
export { safeRun, setErrorHandler, reportError } from './safe-run';
export type { ErrorHandler } from './safe-run';
export { BoundedRing } from './bounded-ring';
export { registerPackage, registeredPackage, registeredPackages, unregisterPackage, recentEvents } from './registry';
