import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A file the dashboard serves, read once. */
export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function asset(file: string, type: string): Asset {
  const body = readFileSync(file);
  return { body, type, etag: `"${createHash('sha1').update(body).digest('base64url')}"` };
}

/** The package's `assets/` folder (next to `src/` and `dist/`). */
const ASSET_DIR = join(__dirname, '..', 'assets');

let loaded: { files: Map<string, Asset>; page: string } | undefined;

/**
 * The page template and the static files, loaded from disk on first use: the page's own script
 * and styles, and uPlot's, resolved from the installed `uplot` package (no CDN).
 */
export function loadAssets(): { files: Map<string, Asset>; page: string } {
  if (loaded === undefined) {
    const files = new Map<string, Asset>([
      ['/assets/dashboard.js', asset(join(ASSET_DIR, 'dashboard.js'), 'text/javascript; charset=utf-8')],
      ['/assets/dashboard.css', asset(join(ASSET_DIR, 'dashboard.css'), 'text/css; charset=utf-8')],
      ['/assets/uplot.js', asset(require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8')],
      ['/assets/uplot.css', asset(require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8')],
    ]);
    loaded = { files, page: readFileSync(join(ASSET_DIR, 'index.html'), 'utf8') };
  }
  return loaded;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe inside HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}
