// Flag parsing shared by the operator and the sidecar: `--name=value`, `--name value` and bare
// `--flag` booleans, each flag also settable from an environment variable.
import { parseArgs } from 'node:util';

export interface FlagSpec {
  type: 'string' | 'boolean';
  default?: string | boolean;
  env?: string;
  description: string;
}

export type FlagValues<S extends Record<string, FlagSpec>> = {
  [K in keyof S]: S[K]['type'] extends 'boolean' ? boolean : string | undefined;
};

export function parseFlags<S extends Record<string, FlagSpec>>(
  program: string,
  summary: string,
  specs: S,
  argv: string[] = process.argv.slice(2),
): FlagValues<S> | undefined {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [name, s] of Object.entries(specs)) options[name] = { type: s.type };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as Record<
      string,
      string | boolean | undefined
    >;
  } catch (err) {
    process.stderr.write(`${program}: ${err instanceof Error ? err.message : String(err)}\n\n${usage(program, summary, specs)}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(usage(program, summary, specs));
    return undefined;
  }
  const out: Record<string, string | boolean | undefined> = {};
  for (const [name, s] of Object.entries(specs)) {
    let v = values[name];
    if (v === undefined && s.env && process.env[s.env] !== undefined) {
      const e = process.env[s.env] as string;
      v = s.type === 'boolean' ? e === 'true' || e === '1' : e;
    }
    out[name] = v ?? s.default ?? (s.type === 'boolean' ? false : undefined);
  }
  return out as FlagValues<S>;
}

export function usage(program: string, summary: string, specs: Record<string, FlagSpec>): string {
  const lines = [`Usage: ${program} [flags]`, '', summary, '', 'Flags:'];
  for (const [name, s] of Object.entries(specs)) {
    const def = s.default !== undefined && s.default !== '' ? ` (default ${JSON.stringify(s.default)})` : '';
    const env = s.env ? ` [env ${s.env}]` : '';
    lines.push(`  --${name}${s.type === 'string' ? ' string' : ''}`, `      ${s.description}${def}${env}`);
  }
  lines.push('  --help', '      Print this help and exit', '');
  return lines.join('\n');
}

/**
 * Runs a process's main: a failure to start (a bad flag, an unreadable kubeconfig) is one clear
 * line on stderr and exit code 2, never a stack trace.
 */
export function runMain(program: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${program}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
