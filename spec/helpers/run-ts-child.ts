/**
 * Runs a TypeScript file of this repository in a child Node process (through ts-node,
 * transpile only) and resolves with its stdout once it exits with status 0. Rejects with its
 * stderr when it fails, and kills it (and rejects) when it has not exited by the deadline: a
 * child that does not exit by itself has left a handle open.
 */
import { join } from 'node:path';
import { runCommand, type CommandResult } from './run-command';

const ROOT = join(__dirname, '..', '..');

/** Runs `file` (relative to the repository root) with `args`, to its end; see the module doc. */
export async function runTsFile(
  file: string,
  args: readonly string[],
  { timeoutMs = 20_000 } = {},
): Promise<CommandResult> {
  return runCommand(process.execPath, ['-r', 'ts-node/register/transpile-only', join(ROOT, file), ...args], {
    cwd: ROOT,
    timeoutMs,
  });
}

/** {@link runTsFile}, resolving with stdout when the child exits 0 and rejecting otherwise. */
export async function runTsChild(file: string, args: readonly string[], { timeoutMs = 20_000 } = {}): Promise<string> {
  const { code, signal, stdout, stderr } = await runTsFile(file, args, { timeoutMs });
  if (code === 0) return stdout;
  throw new Error(`${file} ${args.join(' ')} exited with ${code ?? signal}\n${stderr}`);
}
