import type { Client } from '@elastic/elasticsearch';
import type { LogDocument, SearchLogsOptions } from './types';

/**
 * Searches shipped logs the way the guide does: documents whose `message` matches `query`,
 * newest first (`@timestamp` descending), at most `size` (default 100) from `logs-*`. Returns the
 * documents (`_source`).
 *
 * @example
 * ```ts
 * import { Client } from '@elastic/elasticsearch';
 * import { searchLogs } from '@vigil/logging';
 *
 * const client = new Client({ node: 'http://localhost:9200' });
 * const errors = await searchLogs(client, 'Database connection failed', { size: 20 });
 * for (const doc of errors) console.log(doc['@timestamp'], doc.level, doc.message);
 * ```
 */
export async function searchLogs(client: Client, query: string, options: SearchLogsOptions = {}): Promise<LogDocument[]> {
  const given: unknown = client;
  if (given === null || typeof given !== 'object' || typeof (given as { search?: unknown }).search !== 'function') {
    throw new TypeError('@vigil/logging: searchLogs needs an @elastic/elasticsearch Client');
  }
  if (typeof query !== 'string') throw new TypeError('@vigil/logging: searchLogs query must be a string');
  const size = options.size ?? 100;
  if (!Number.isInteger(size) || size < 0) throw new TypeError(`@vigil/logging: searchLogs size must be an integer ≥ 0, got ${JSON.stringify(size)}`);
  const index = options.index ?? 'logs-*';
  if (typeof index !== 'string' || index === '') throw new TypeError('@vigil/logging: searchLogs index must be a non-empty string');
  const result = await client.search<LogDocument>({
    index,
    query: { bool: { must: [{ match: { message: query } }] } },
    sort: [{ '@timestamp': 'desc' }],
    size,
  });
  const out: LogDocument[] = [];
  for (const hit of result.hits.hits) if (hit._source !== undefined) out.push(hit._source);
  return out;
}
