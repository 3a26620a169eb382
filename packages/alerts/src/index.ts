export type {
  AlertRule, Alerts, AlertsOptions, AlertState, ApdexRuleOptions, BurnRateRuleOptions, BurnRateWindow, Channel, ChannelStats,
  CommonRuleOptions, DeliveryOptions, Duration, ErrorRateRuleOptions, HealthRuleOptions, InhibitRule, Labels, LatencyRuleOptions,
  Matchers, Notification, NotifiedAlert, PrometheusExportOptions, PrometheusRule, RouteOptions, RuleContext, RuleKind, RuleSample,
  SilenceInfo, ThresholdRuleOptions, TrafficScope,
} from './types';
export { createAlerts } from './alerts';
export { thresholdRule, errorRateRule, latencyRule, apdexRule, burnRateRule, healthRule } from './rules';
export { slackChannel } from './channels/slack';
export type { SlackChannelOptions } from './channels/slack';
export { pagerDutyChannel } from './channels/pagerduty';
export type { PagerDutyChannelOptions } from './channels/pagerduty';
export { emailChannel } from './channels/email';
export type { EmailChannelOptions } from './channels/email';
export { webhookChannel } from './channels/webhook';
export type { WebhookChannelOptions } from './channels/webhook';
export { alertmanagerChannel } from './channels/alertmanager';
export type { AlertmanagerChannelOptions } from './channels/alertmanager';
export { logChannel } from './channels/log';
export type { AlertLogger, LogChannelOptions } from './channels/log';
export type { ChannelOptions } from './channels/common';
export { DeliveryError } from './delivery';
export { SloWindows } from './slo-windows';
export type { SloWindowsOptions, WindowCounts } from './slo-windows';
export { toPrometheusRules } from './prometheus-rules';
