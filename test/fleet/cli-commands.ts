// The fleet's CLI commands on a commander program of their own, so that the tests run exactly the
// command code of apps/cli whether or not the CLI's main.ts has registered them yet.
import { Command } from 'commander';
import { registerBatch } from '../../apps/cli/src/commands/batch';
import { registerServe } from '../../apps/cli/src/commands/serve';

const program = new Command('headkv').exitOverride();
registerServe(program);
registerBatch(program);
program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`headkv: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
