/**
 * Everything vigil needs, set up once at start: tracing first (so its context is the one used),
 * then the logger, health checks, metrics and alert rules. Shared by the Express and Koa services;
 * the framework middleware is added in `app.ts`.
 */
import { setupTracing } from '@vigil/tracing';
import { createLogger } from '@vigil/logging';
import { createHealth, eventLoopLagCheck } from '@vigil/health';
import {
  apdexRule, createAlerts, errorRateRule, latencyRule, logChannel, pagerDutyChannel, slackChannel, type Channel,
} from '@vigil/alerts';
import type { Cache, Database } from './domain';

export interface ObservabilityOptions {
  service: string;
  db: Database;
  cache: Cache;
  env?: NodeJS.ProcessEnv;
}

/** Tracing, logger, health and alerts for the order service. */
export function setupObservability({ service, db, cache, env = process.env }: ObservabilityOptions) {
  // Spans go to an OpenTelemetry Collector / Jaeger when OTEL_EXPORTER_OTLP_ENDPOINT is set; the
  // dashboard's trace waterfall works either way.
  const tracing = setupTracing({
    serviceName: service,
    serviceVersion: '0.1.0',
    exporter: env.OTEL_EXPORTER_OTLP_ENDPOINT ? 'otlp' : 'none',
  });

  // Structured JSON logs to stdout (ship them with any log collector).
  const logger = createLogger({ service }); // level: LOG_LEVEL, default info

  // The guide's dependency checks: a critical database check and a non-critical cache check.
  const health = createHealth({ service, version: '0.1.0', logger });
  health.register('database', async () => db.ping(), { critical: true, intervalMs: 5000, timeoutMs: 1000, groups: ['readiness'] });
  health.register('cache', async () => cache.ping(), { critical: false, intervalMs: 5000, timeoutMs: 500, groups: ['readiness'] });
  health.register('event-loop', eventLoopLagCheck(500, { warnMs: 100 }), { critical: false, intervalMs: 5000 });

  // Alert rules over the rolling windows, to the log always, and to Slack / PagerDuty when configured.
  const channels: Channel[] = [logChannel(logger)];
  if (env.SLACK_WEBHOOK_URL) channels.push(slackChannel(env.SLACK_WEBHOOK_URL));
  if (env.PAGERDUTY_ROUTING_KEY) channels.push(pagerDutyChannel(env.PAGERDUTY_ROUTING_KEY));
  const alerts = createAlerts({
    evaluateEveryMs: 2000,
    channels,
    rules: [
      errorRateRule({
        name: 'HighErrorRate', threshold: 0.05, window: '1m', minRequests: 20, for: '10s', severity: 'critical',
        annotations: { summary: 'High error rate detected', description: 'Error rate is {{ $value | humanizePercentage }}' },
      }),
      latencyRule({
        name: 'HighLatency', quantile: 0.95, threshold: '600ms', window: '1m', minRequests: 20, for: '15s', severity: 'warning',
        annotations: { summary: 'High latency detected', description: 'P95 latency is {{ $value }}s' },
      }),
      apdexRule({
        name: 'LowApdex', below: 0.8, window: '1m', minRequests: 20, for: '15s', severity: 'warning',
        annotations: { summary: 'Users are frustrated', description: 'Apdex is {{ $value }}' },
      }),
    ],
  });

  return { tracing, logger, health, alerts };
}
