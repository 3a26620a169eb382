export { expressDashboard } from './express';
export { koaDashboard } from './koa';
export { clusterDashboard } from './cluster-link';
export type { ClusterDashboardOptions } from './cluster-link';
export type { DashboardAuthorize, DashboardOptions, Frame, ProcessRow, RouteRow, SeriesPoint, TrafficRow } from './types';
