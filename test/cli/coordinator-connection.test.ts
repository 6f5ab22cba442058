// Where the fleet commands connect: flags over environment over the config file over the
// localhost default, and a broken config file named in one clear error.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { configFilePath, resolveConnection } from '../../apps/cli/src/coordinator-client';

function configDir(content: string): { env: NodeJS.ProcessEnv; file: string } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'headkv-config-'));
  const file = path.join(home, 'headkv', 'config.json');
  fs.mkdirSync(path.dirname(file));
  fs.writeFileSync(file, content);
  return { env: { XDG_CONFIG_HOME: home }, file };
}

test('flag, then environment, then config file, then the localhost default', () => {
  const { env, file } = configDir(
    JSON.stringify({ url: 'http://fleet.example:9000/', api_key: 'from-file' }),
  );
  assert.equal(configFilePath(env), file);
  assert.deepEqual(resolveConnection({}, env), { url: 'http://fleet.example:9000', apiKey: 'from-file' });
  assert.deepEqual(resolveConnection({}, { ...env, HEADKV_URL: 'http://env:1', HEADKV_API_KEY: 'env-key' }), {
    url: 'http://env:1',
    apiKey: 'env-key',
  });
  assert.deepEqual(
    resolveConnection({ url: 'http://flag:2', apiKey: 'flag-key' }, { ...env, HEADKV_URL: 'x' }),
    {
      url: 'http://flag:2',
      apiKey: 'flag-key',
    },
  );
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'headkv-noconfig-'));
  assert.deepEqual(resolveConnection({}, { XDG_CONFIG_HOME: empty, PORT: '8123' }), {
    url: 'http://127.0.0.1:8123',
    apiKey: 'local',
  });
});

test('a broken config file is one error naming the file and the problem', () => {
  const bad = configDir('{"url": 5}');
  assert.throws(
    () => resolveConnection({}, bad.env),
    new RegExp(`${bad.file}: field "url" must be a string`),
  );
  const unknown = configDir('{"uri": "http://x"}');
  assert.throws(() => resolveConnection({}, unknown.env), /unknown field "uri"/);
  const invalid = configDir('{not json');
  assert.throws(() => resolveConnection({}, invalid.env), /not valid JSON/);
  assert.throws(
    () => resolveConnection({}, { HEADKV_CONFIG: path.join(os.tmpdir(), 'headkv-missing.json') }),
    /HEADKV_CONFIG\): no such file/,
  );
});
