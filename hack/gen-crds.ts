// Writes crds/operator.kcp.io_<plural>.yaml from the schemas in src/api (`make crds`).
// Files in crds/ for our group that are no longer generated are removed, so a renamed kind
// cannot leave a stale CRD behind.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { renderCrdFiles } from '../src/api/crds.js';
import { API_GROUP } from '../src/api/names.js';

const dir = fileURLToPath(new URL('../crds/', import.meta.url));
mkdirSync(dir, { recursive: true });

const files = renderCrdFiles();
for (const [name, content] of files) {
  const path = join(dir, name);
  let current: string | undefined;
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === content) continue;
  writeFileSync(path, content);
  console.log(`wrote crds/${name}`);
}
for (const name of readdirSync(dir)) {
  if (name.startsWith(`${API_GROUP}_`) && name.endsWith('.yaml') && !files.has(name)) {
    rmSync(join(dir, name));
    console.log(`removed stale crds/${name}`);
  }
}
