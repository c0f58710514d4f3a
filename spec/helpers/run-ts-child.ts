/**
 * Runs a TypeScript file of this repository in a child Node process (through ts-node,
 * transpile only) and resolves with its stdout once it exits with status 0. Rejects with its
 * stderr when it fails, and kills it (and rejects) when it has not exited by the deadline: a
 * child that does not exit by itself has left a handle open.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export function runTsChild(file: string, args: readonly string[], { timeoutMs = 20_000 } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(ROOT, file), ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(deadline);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      if (code === 0) resolve(stdout);
      else reject(new Error(`${file} ${args.join(' ')} exited with ${code ?? signal}\n${stderr}`));
    });
  });
}
