import { existsSync } from 'node:fs';
import path from 'node:path';

/** The repository root, from `test/harness` (ts-jest) as well as `dist/test/harness` (built). */
export function repoRoot(): string {
  let dir = __dirname;
  for (let depth = 0; depth < 6; depth++) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`no package.json above ${__dirname}`);
}

/**
 * Where a chaos, load or bench run writes its results: `load/results/<start time>[-<name>]/`
 * (git-ignored), the time with `:` and `.` made safe for file names.
 */
export function resultsDir(startedAt: Date, name?: string): string {
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  return path.join(repoRoot(), 'load', 'results', name === undefined ? stamp : `${stamp}-${name}`);
}
