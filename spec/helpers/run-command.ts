/**
 * Runs a program to its end and collects what it printed: the one way the tests run a command
 * (promtool, TypeDoc, a TypeScript file through ts-node). With `timeoutMs`, a program that has
 * not exited by the deadline is killed and the promise rejects, so a hung child fails its test
 * instead of holding jest open.
 */
import { spawn } from 'node:child_process';

/** What a finished command left. */
export interface CommandResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout and stderr, interleaved as they came. */
  readonly output: string;
}

/** Where and how to run it. */
export interface RunCommandOptions {
  /** The working folder (default: the current one). */
  readonly cwd?: string;
  /** Written to the program's stdin, which is then closed (default: no stdin at all). */
  readonly input?: string;
  /** The environment (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the program (SIGKILL) and reject when it has not exited after this long. */
  readonly timeoutMs?: number;
}

/** Runs `command` with `args` and resolves once it has exited and its output is read. */
export function runCommand(
  command: string,
  args: readonly string[],
  { cwd, input, env, timeoutMs }: RunCommandOptions = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      output += chunk.toString();
    });
    const deadline =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`${command} ${args.join(' ')} did not exit within ${timeoutMs} ms\n${output}`));
          }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(deadline);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(deadline);
      resolve({ code, signal, stdout, stderr, output });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
