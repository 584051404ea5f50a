// Derives the replace directives a wrapper module needs from an upstream go.mod (as JSON from
// `go mod edit -json`). Local `./staging/...` replaces are not usable from a dependency, so each is
// pointed at the module's published release instead.
//   node replaces.mjs kubernetes <go.mod.json> <kubeVersion>   -> k8s.io/x => k8s.io/x v0.Y.Z
//   node replaces.mjs kcp <go.mod.json> <kcpVersion>           -> forks copied, staging -> tags
import { readFileSync } from 'node:fs';

const [mode, file, version] = process.argv.slice(2);
if (!mode || !file || !version) {
  console.error('usage: replaces.mjs kubernetes|kcp <go.mod.json> <version>');
  process.exit(2);
}
const mod = JSON.parse(readFileSync(file, 'utf8'));
const m = /^v(\d+)\.(\d+)\.(\d+)$/.exec(version);
if (!m) {
  console.error(`unsupported version ${version}: want vX.Y.Z`);
  process.exit(2);
}
const [, major, minor, patch] = m;
const lines = [];
for (const r of mod.Replace ?? []) {
  const from = r.Old.Path;
  const local = r.New.Path.startsWith('./') || r.New.Path.startsWith('../');
  if (!local) {
    lines.push(`${from} => ${r.New.Path} ${r.New.Version}`);
    continue;
  }
  if (mode === 'kubernetes') {
    // k8s staging modules are published as v0.<minor>.<patch> for kubernetes v1.<minor>.<patch>.
    lines.push(`${from} => ${from} v0.${minor}.${patch}`);
  } else {
    // kcp-dev staging repos carry the kcp tag, with the major version suffix of their path.
    const suffix = /\/v(\d+)$/.exec(from);
    const tagMajor = suffix ? suffix[1] : major;
    lines.push(`${from} => ${from} v${tagMajor}.${minor}.${patch}`);
  }
}
process.stdout.write(lines.join('\n') + (lines.length ? '\n' : ''));
