// StopStringMatcher: stop strings across token boundaries, held-back prefixes, earliest match.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { StopStringMatcher } from '@headkv/engine';

function feed(matcher: StopStringMatcher, pieces: string[]): { released: string; stopped: boolean } {
  let released = '';
  let stopped = false;
  for (const piece of pieces) {
    const match = matcher.push(piece);
    released += match.release;
    stopped ||= match.stopped;
  }
  if (!stopped) released += matcher.flush();
  return { released, stopped };
}

test('a stop string split over pieces stops and releases only the text before it', () => {
  const matcher = new StopStringMatcher(['</end>']);
  assert.deepEqual(feed(matcher, ['Hello <', '/en', 'd> more']), { released: 'Hello ', stopped: true });
  assert.deepEqual(matcher.push('after'), { release: '', stopped: true });
});

test('a possible stop-string prefix is held back, then released when it does not match', () => {
  const matcher = new StopStringMatcher(['STOP']);
  assert.deepEqual(matcher.push('abc ST'), { release: 'abc ', stopped: false });
  assert.deepEqual(matcher.push('OCK'), { release: 'STOCK', stopped: false });
  assert.equal(matcher.flush(), '');
});

test('the earliest of several stop strings wins; text ending in a prefix is flushed at the end', () => {
  assert.deepEqual(feed(new StopStringMatcher(['world', 'lo w']), ['hello world']), {
    released: 'hel',
    stopped: true,
  });
  assert.deepEqual(feed(new StopStringMatcher(['xyz']), ['abc x']), { released: 'abc x', stopped: false });
});

test('empty stop strings are refused', () => {
  assert.throws(() => new StopStringMatcher(['']), /non-empty/);
});
