// main.ts: the `headkv` command line. Each command lives in its own file under commands/ and is
// registered here.
import { Command } from 'commander';

import { registerBatch } from './commands/batch';
import { registerEval } from './commands/eval';
import { registerGenerate } from './commands/generate';
import { registerProfile } from './commands/profile';
import { registerProfileShow } from './commands/profile-show';
import { registerServe } from './commands/serve';
import { registerSummarize } from './commands/summarize';

const program = new Command('headkv')
  .description('HeadKV Fleet: long-context LLM inference with head-level KV-cache compression')
  .showSuggestionAfterError(false);

registerGenerate(program);
registerServe(program);
registerBatch(program);
registerProfile(program);
registerEval(program);
registerSummarize(program);
registerProfileShow(program);

program.parseAsync(process.argv).catch((error: unknown) => {
  process.stderr.write(`headkv: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
