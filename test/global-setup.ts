import { sharedSkipNotice } from './helpers/shared';

/** Runs once before all suites: says why some are skipped instead of skipping silently. */
export default function globalSetup(): void {
  const notice = sharedSkipNotice();
  if (notice) process.stderr.write(`\n${notice}\n\n`);
}
