import fs from 'node:fs';
import path from 'node:path';

import { ProtocolWriter } from './protocol/output';

/**
 * Entry point. `spec` is answered without loading the CDK or the HTTP client (start-up
 * time matters: Airbyte calls spec often); everything else loads lazily.
 */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  if (argv[0] === 'spec' && argv.length === 1) {
    const spec = JSON.parse(
      fs.readFileSync(path.resolve(__dirname, '..', 'resources', 'spec.json'), 'utf8'),
    );
    await new ProtocolWriter().spec(spec);
    return 0;
  }
  const { run } = await import('./cli');
  return run(argv);
}

/**
 * Airbyte cancels a sync with SIGTERM: the output must end on whole lines, with each running
 * stream's last checkpoint (bin/main exits once this resolves, or after a grace period).
 */
export async function terminate(): Promise<void> {
  await ProtocolWriter.current?.terminate();
}
