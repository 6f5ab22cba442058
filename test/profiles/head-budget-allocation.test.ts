// The TypeScript allocation (dashboard and CLI) against the reference allocation fixture (HEADKV.md section 3).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { allocateHeadBudgets, HEADKV_WINDOW } from '@headkv/profiles';
import { fixturePath } from '../helpers/repo-paths';

interface AllocationCase {
  kv_size: number;
  beta: number;
  temp: number;
  floor: number;
  pool: number;
  query_head_caps: number[][];
  kv_head_caps: number[][];
}

const fixture = JSON.parse(readFileSync(fixturePath('allocation', 'synthetic.json'), 'utf8')) as {
  window: number;
  matrices: Array<{ name: string; n_kv_heads: number; scores: number[][]; cases: AllocationCase[] }>;
};

test('the window matches the fixture', () => {
  assert.equal(HEADKV_WINDOW, fixture.window);
});

for (const matrix of fixture.matrices) {
  test(`allocation matches the reference on ${matrix.name}`, () => {
    assert.ok(matrix.cases.length > 0);
    for (const expected of matrix.cases) {
      const label = `${matrix.name} kv_size=${expected.kv_size} beta=${expected.beta}`;
      const actual = allocateHeadBudgets(matrix.scores, matrix.n_kv_heads, {
        kvSize: expected.kv_size,
        beta: expected.beta,
        temp: expected.temp,
      });
      assert.equal(actual.floor, expected.floor, label);
      assert.equal(actual.pool, expected.pool, label);
      assert.deepEqual(actual.queryHeadCaps, expected.query_head_caps, label);
      assert.deepEqual(actual.kvHeadCaps, expected.kv_head_caps, label);
    }
  });
}

test('bad settings and scores are named', () => {
  assert.throws(() => allocateHeadBudgets([[1, 1]], 1, { kvSize: 8, beta: 1.2 }), /kv_size/);
  assert.throws(() => allocateHeadBudgets([[1, 1]], 1, { kvSize: 64, beta: 0.5 }), /beta/);
  assert.throws(() => allocateHeadBudgets([[1, 1]], 3, { kvSize: 64, beta: 1.2 }), /n_kv_heads/);
  assert.throws(() => allocateHeadBudgets([[1, -1]], 1, { kvSize: 64, beta: 1.2 }), /scores\[0\]\[1\]/);
  assert.throws(() => allocateHeadBudgets([[0, 0]], 1, { kvSize: 64, beta: 1.2 }), /all scores are zero/);
});
