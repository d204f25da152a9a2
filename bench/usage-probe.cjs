'use strict';
// Preloaded into a measured process (`node --require bench/usage-probe.cjs`): on exit it
// reports the process' own CPU time and peak RSS as one `__usage {...}` line on stderr.
process.on('exit', () => {
  const cpu = process.cpuUsage();
  const usage = { cpuMs: (cpu.user + cpu.system) / 1000, maxRssKb: process.resourceUsage().maxRSS };
  process.stderr.write(`\n__usage ${JSON.stringify(usage)}\n`);
});
