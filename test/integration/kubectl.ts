// The real kubectl (built by hack/), run with a kubeconfig; resolves with its exit code and output.
import { spawn } from 'node:child_process';
import { binaryPath } from '../../local/binaries.js';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runKubectl(kubeconfig: string, args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binaryPath('kubectl'), ['--kubeconfig', kubeconfig, ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}
