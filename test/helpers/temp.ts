import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Temporary directories of this process, removed at exit (one listener for all of them). */
const temporaryDirectories: string[] = [];

export function temporaryDirectory(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  if (temporaryDirectories.push(dir) === 1) {
    process.once('exit', () => {
      for (const each of temporaryDirectories) fs.rmSync(each, { recursive: true, force: true });
    });
  }
  return dir;
}
