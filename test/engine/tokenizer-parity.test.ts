// Tokenizer and chat-template parity with transformers (test/fixtures/tokenizer/*.json, made by
// tools/reference/make_fixtures.py with AutoTokenizer and apply_chat_template).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';

import { ChatMessage, IncrementalDetokenizer, Tokenizer } from '@headkv/engine';

import { readJsonFile } from '../helpers/fixtures';
import { fixturePath } from '../helpers/repo-paths';

interface ParityCase {
  text: string;
  ids: number[];
  ids_with_special_tokens: number[];
  decoded: string;
  decoded_skip_special_tokens: string;
}

interface ChatCase {
  name: string;
  messages: ChatMessage[];
  add_generation_prompt: boolean;
  text: string;
  ids: number[];
}

const PARITY_FILE = fixturePath('tokenizer', 'parity.json');
const CHAT_FILE = fixturePath('tokenizer', 'chat_templates.json');

const parity = fs.existsSync(PARITY_FILE)
  ? readJsonFile<Record<string, { tokenizer: string; cases: ParityCase[] }>>(PARITY_FILE)
  : undefined;
const chats = fs.existsSync(CHAT_FILE)
  ? readJsonFile<Record<string, { tokenizer: string; cases: ChatCase[] }>>(CHAT_FILE)
  : undefined;

test('tokenizer parity fixtures', { skip: parity ? false : `${PARITY_FILE} is absent` }, async (t) => {
  for (const [style, entry] of Object.entries(parity ?? {})) {
    const tokenizer = Tokenizer.fromDir(fixturePath(entry.tokenizer));
    await t.test(`${style}: encode and decode ${entry.cases.length} strings like transformers`, () => {
      for (const c of entry.cases) {
        const label = JSON.stringify(c.text);
        assert.deepEqual(tokenizer.encode(c.text, { addSpecialTokens: false }), c.ids, `encode ${label}`);
        assert.deepEqual(tokenizer.encode(c.text), c.ids_with_special_tokens, `encode+special ${label}`);
        assert.equal(tokenizer.decode(c.ids), c.decoded, `decode ${label}`);
        assert.equal(
          tokenizer.decode(c.ids_with_special_tokens, { skipSpecialTokens: true }),
          c.decoded_skip_special_tokens,
        );
      }
    });
    await t.test(`${style}: streaming detokenization concatenates to the full decode`, () => {
      for (const c of entry.cases) {
        const detokenizer = new IncrementalDetokenizer(tokenizer);
        let streamed = '';
        for (const id of c.ids) {
          const piece = detokenizer.push(id);
          assert.ok(
            !piece.endsWith('\uFFFD') || c.decoded_skip_special_tokens.includes('\uFFFD'),
            'released half a character',
          );
          streamed += piece;
        }
        streamed += detokenizer.flush();
        assert.equal(streamed, c.decoded_skip_special_tokens, `stream ${JSON.stringify(c.text)}`);
      }
    });
  }
});

test(
  'chat templates render like apply_chat_template',
  { skip: chats ? false : `${CHAT_FILE} is absent` },
  async (t) => {
    for (const [style, entry] of Object.entries(chats ?? {})) {
      const tokenizer = Tokenizer.fromDir(fixturePath(entry.tokenizer));
      await t.test(`${style}: ${entry.cases.length} conversations`, () => {
        for (const c of entry.cases) {
          const options = { addGenerationPrompt: c.add_generation_prompt };
          const label = `${c.name} (add_generation_prompt=${c.add_generation_prompt})`;
          assert.equal(tokenizer.renderChat(c.messages, options), c.text, label);
          assert.deepEqual(tokenizer.encodeChat(c.messages, options), c.ids, label);
        }
      });
    }
  },
);
