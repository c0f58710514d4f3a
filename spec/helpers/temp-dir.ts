/**
 * A temporary folder for a test (a Prometheus data folder, a browser profile, a project that
 * installs the packed package), and the function that removes it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temporary folder. */
export interface TempDir {
  readonly path: string;
  /** Removes the folder and everything in it; a folder already gone is not an error. */
  remove(): Promise<void>;
}

/** Creates a folder under the OS's temporary folder, its name starting with `prefix`. */
export async function tempDir(prefix: string): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
