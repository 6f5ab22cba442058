// headkv-tiny's chat template renders the fidelity suite's prompt: a chat request holding a suite
// case tokenizes to exactly the ids `headkv eval` feeds the model for that case; and
// docs/examples/batch.jsonl is what tools/demo/demo-batch.ts builds from the suite's test split.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

import { Tokenizer } from '@headkv/engine';

import { demoBatch, demoCase, suiteChatMessages } from '../../tools/demo/demo-batch';
import { HEADKV_TINY_DIR, REPO_ROOT } from '../helpers/repo-paths';

const tokenizer = Tokenizer.fromDir(HEADKV_TINY_DIR);

test('a suite case sent as chat messages tokenizes to the ids headkv eval uses', () => {
  for (const task of ['summary', 'niah_single', 'variable_tracking'] as const) {
    const suiteCase = demoCase(HEADKV_TINY_DIR, { task, index: 1, length: 1024 });
    // `headkv eval`: the raw prompt, BOS added by the tokenizer.
    const evalIds = tokenizer.encode(suiteCase.prompt);
    const chatIds = tokenizer.encodeChat(suiteChatMessages(suiteCase.prompt));
    assert.equal(chatIds[0], 4094, `${suiteCase.id}: BOS first`);
    assert.deepEqual(chatIds, evalIds, suiteCase.id);
    assert.ok(evalIds.length > 900 && evalIds.length <= 1024, `${suiteCase.id}: ${evalIds.length} ids`);
  }
});

test('the chat template: system before the report, assistant turns as answers, no cue without a generation prompt', () => {
  const bos = '<|begin_of_text|>';
  assert.equal(
    tokenizer.renderChat([
      { role: 'system', content: 'Reports of the harbour office.' },
      { role: 'user', content: 'Key fact: Ana sold the red boat.\n\nQuestion: Who sold the red boat?' },
    ]),
    `${bos}Reports of the harbour office.\n\nKey fact: Ana sold the red boat.\n\nQuestion: Who sold the red boat?\nAnswer:`,
  );
  assert.equal(
    tokenizer.renderChat([
      { role: 'user', content: 'R\n\nQuestion: Q1' },
      { role: 'assistant', content: ' A1 ' },
      { role: 'user', content: 'Question: Q2' },
    ]),
    `${bos}R\n\nQuestion: Q1\nAnswer: A1<|end_of_text|>\n\nQuestion: Q2\nAnswer:`,
  );
  assert.equal(
    tokenizer.renderChat([{ role: 'user', content: 'R\n\nQuestion: Q' }], { addGenerationPrompt: false }),
    `${bos}R\n\nQuestion: Q`,
  );
});

test('a prompt without the answer cue is refused by name', () => {
  assert.throws(() => suiteChatMessages('no cue here'), /ends with "\\nAnswer:"/);
});

test('docs/examples/batch.jsonl is the demo batch built from the suite test split', () => {
  const committed = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'examples', 'batch.jsonl'), 'utf8');
  const built = demoBatch(HEADKV_TINY_DIR);
  assert.equal(committed, built.map((entry) => entry.line).join('\n') + '\n');
  for (const { request, suiteCase } of built) {
    assert.equal(suiteCase.split, 'test');
    assert.equal(suiteCase.id, `test/${request.task}/${request.length}/${request.index}`);
  }
});
