export type {
  CheckDefinition,
  CheckFunction,
  CheckReport,
  CheckResult,
  CheckReturn,
  EvaluateOptions,
  GracefulShutdown,
  GracefulShutdownOptions,
  Health,
  HealthEndpointOptions,
  HealthLogger,
  HealthOptions,
  HealthReport,
  HealthStatus,
  ProbeEndpoint,
  RegisterOptions,
  ShutdownClock,
  ShutdownHook,
  SignalSource,
} from './types';
export { createHealth } from './health';
export { httpCheck } from './http-check';
export type { HttpCheckOptions } from './http-check';
export { tcpCheck } from './tcp-check';
export type { TcpCheckOptions } from './tcp-check';
export { eventLoopLagCheck } from './event-loop-lag-check';
export type { EventLoopLagCheckOptions } from './event-loop-lag-check';
export { heapCheck } from './heap-check';
export type { HeapCheckOptions } from './heap-check';
export { expressHealth } from './express';
export { koaHealth } from './koa';
export { gracefulShutdown } from './graceful-shutdown';
export type { ShutdownServer } from './graceful-shutdown';
export { HEALTH_JSON, REASON_WITHHELD } from './ietf-body';
export type { IetfBody, IetfCheck } from './ietf-body';
