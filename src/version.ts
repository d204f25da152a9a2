import fs from 'node:fs';
import path from 'node:path';

let known: string | undefined;

/** The connector's version, from its package.json (read once; 'unknown' when unreadable). */
export function version(): string {
  if (known !== undefined) return known;
  try {
    known = String(
      JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', 'package.json'), 'utf8')).version,
    );
  } catch {
    known = 'unknown';
  }
  return known;
}
