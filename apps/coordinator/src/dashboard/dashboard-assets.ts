// dashboard-assets.ts: where the dashboard's page and its ES modules are on disk. The page is plain
// ES modules (Preact + htm from npm, mapped by an import map), so nothing is bundled.
import * as fs from 'node:fs';
import * as path from 'node:path';

const PUBLIC_FOLDER = path.join('apps', 'coordinator', 'src', 'dashboard', 'public');

/** The source folder of the page, found above this file (it runs from dist/ in the same checkout or image). */
function findPublicFolder(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, PUBLIC_FOLDER);
    if (fs.existsSync(path.join(candidate, 'index.html'))) return candidate;
    if (path.dirname(dir) === dir)
      throw new Error(`the dashboard page (${PUBLIC_FOLDER}) is not above ${start}`);
  }
}

/** Names of the page's scripts and styles; nothing else (no paths) is served from the folder. */
const PAGE_FILE_NAME = /^[a-z][a-z-]*\.(js|css)$/;

/** The npm ES modules the page imports, by the name in its import map. */
function vendorFiles(): Record<string, string> {
  const moduleBeside = (specifier: string, file: string) =>
    path.join(path.dirname(require.resolve(specifier)), file);
  return {
    'preact.mjs': moduleBeside('preact', 'preact.module.js'),
    'preact-hooks.mjs': moduleBeside('preact/hooks', 'hooks.module.js'),
    'htm.mjs': moduleBeside('htm', 'htm.module.js'),
  };
}

export interface DashboardAssets {
  indexHtml: string;
  page(name: string): string | null;
  vendor(name: string): string | null;
}

export function locateDashboardAssets(): DashboardAssets {
  const folder = findPublicFolder(__dirname);
  const vendor = vendorFiles();
  return {
    indexHtml: path.join(folder, 'index.html'),
    page: (name) => {
      if (!PAGE_FILE_NAME.test(name)) return null;
      const file = path.join(folder, name);
      return fs.existsSync(file) ? file : null;
    },
    vendor: (name) => vendor[name] ?? null,
  };
}
