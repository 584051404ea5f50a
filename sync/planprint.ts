// The dry-run plan as text: one line per operation, then a summary. Names only, never content.
import type { PlannedOperation } from './engine.js';
import { byCodeUnit } from './order.js';

export function formatPlan(ops: readonly PlannedOperation[], invalidClusters: ReadonlyMap<string, string>): string {
  const lines: string[] = [];
  const order = ['create', 'update', 'recreate', 'delete', 'conflict', 'invalid', 'unreachable'];
  const sorted = [...ops].sort(
    (a, b) =>
      order.indexOf(a.op) - order.indexOf(b.op) ||
      byCodeUnit(a.cluster, b.cluster) ||
      byCodeUnit(a.namespace, b.namespace) ||
      byCodeUnit(a.name, b.name),
  );
  for (const o of sorted) {
    if (o.op === 'unreachable') {
      lines.push(`unreachable cluster ${o.cluster}: ${o.message ?? ''}`);
      continue;
    }
    if (o.op === 'invalid') {
      lines.push(`invalid     ${o.kind} ${o.source}: ${o.message ?? ''}`);
      continue;
    }
    const what = `${o.kind} ${o.cluster}/${o.namespace}/${o.name}`;
    lines.push(`${o.op.padEnd(11)} ${what} from ${o.source}${o.message ? ` (${o.message})` : ''}`);
  }
  for (const [name, reason] of invalidClusters) lines.push(`invalid cluster registration ${name}: ${reason}`);
  const count = (op: string) => ops.filter((o) => o.op === op).length;
  lines.push(
    `plan: ${count('create')} to create, ${count('update') + count('recreate')} to update, ${count('delete')} to delete, ` +
      `${count('conflict')} conflict(s), ${count('unreachable')} unreachable cluster(s); nothing was written`,
  );
  return `${lines.join('\n')}\n`;
}
