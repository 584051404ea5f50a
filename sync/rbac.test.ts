// docs/sync.md shows the RBAC the sidecar needs; the integration tests run under sync/rbac.ts.
// This keeps the two equal: every rule, with its reason, must appear on the page.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LEASE_RULES, READER_RULES, REMOTE_RULES, SOURCE_RULES, WRITER_RULES, type PolicyRule } from './rbac.js';

const doc = readFileSync(new URL('../docs/sync.md', import.meta.url), 'utf8');
const list = (xs: string[]) => `[${xs.map((x) => (x === '' ? '""' : x)).join(', ')}]`;
const flow = (r: PolicyRule) => `- {apiGroups: ${list(r.apiGroups)}, resources: ${list(r.resources)}, verbs: ${list(r.verbs)}}`;

describe('RBAC in docs/sync.md', () => {
  for (const [where, rules] of [
    ['reader', READER_RULES],
    ['writer', WRITER_RULES],
    ['source', SOURCE_RULES],
    ['lease', LEASE_RULES],
    ['remote', REMOTE_RULES],
  ] as const) {
    it(`lists every ${where} rule with its reason`, () => {
      for (const { why, rule } of rules) {
        expect(doc).toContain(`# ${why}\n  ${flow(rule)}`);
      }
    });
  }

  it('documents every key the sidecar uses', async () => {
    const keys = await import('./keys.js');
    for (const [name, value] of Object.entries(keys)) {
      if (typeof value !== 'string' || name === 'PREFIX' || name === 'FIELD_MANAGER') continue;
      expect(doc, name).toContain(`\`${value}\``);
    }
  });
});
