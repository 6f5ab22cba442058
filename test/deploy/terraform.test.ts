// The Terraform parses with HashiCorp's HCL parser, is canonically formatted, keeps its version
// constraints, creates what its README promises, and agrees with the Kustomize overlays it feeds.
import { before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { format } from '@cdktf/hcl-tools';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../helpers/repo-paths';
import { loadTerraformModule, terraformFiles, type HclBody, type TerraformModule } from './terraform-module';

const TERRAFORM = path.join(REPO_ROOT, 'terraform');
const CLOUDS = ['aws', 'gcp'];
const modules = new Map<string, TerraformModule>();
const examples = new Map<string, TerraformModule>();

before(async () => {
  for (const cloud of CLOUDS) {
    modules.set(cloud, await loadTerraformModule(path.join(TERRAFORM, cloud)));
    examples.set(cloud, await loadTerraformModule(path.join(TERRAFORM, 'examples', cloud)));
  }
});

function mod(cloud: string): TerraformModule {
  return modules.get(cloud)!;
}

function resource(cloud: string, address: string): HclBody {
  const body = mod(cloud).resources.get(address);
  assert.ok(body, `terraform/${cloud} has no resource ${address}`);
  return body;
}

function block(body: HclBody, name: string): HclBody {
  const blocks = body[name];
  assert.ok(Array.isArray(blocks) && blocks.length > 0, `no ${name} block`);
  return blocks[0] as HclBody;
}

/** The backticked first cells of the table under a "## heading" of a README. */
function tableNames(readme: string, heading: string): string[] {
  const section = readme.split(/^## /m).find((part) => part.startsWith(heading));
  assert.ok(section, `README has no "## ${heading}" section`);
  return [...section.matchAll(/^\| `([^`]+)` \|/gm)].map((match) => match[1]);
}

/** The keys of a KEY=value env file, comments and blank lines skipped. */
function envKeys(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.slice(0, line.indexOf('=')));
}

test('every .tf file is in canonical HCL format (hclwrite, as terraform fmt)', async () => {
  const unformatted: string[] = [];
  for (const file of terraformFiles(TERRAFORM)) {
    const source = fs.readFileSync(file, 'utf8');
    if ((await format(source)) !== source) unformatted.push(path.relative(REPO_ROOT, file));
  }
  assert.deepEqual(unformatted, [], 'run `terraform fmt -recursive terraform` on these files');
});

for (const cloud of CLOUDS) {
  test(`${cloud}: providers, Terraform and registry modules carry version constraints`, () => {
    for (const module of [mod(cloud), examples.get(cloud)!]) {
      const where = path.relative(REPO_ROOT, module.directory);
      const [settings] = module.terraformBlocks;
      assert.ok(settings, `${where} has no terraform block`);
      assert.match(String(settings.required_version), /^>= 1\.\d+/, `${where}: required_version`);
      const [providers] = settings.required_providers as Record<
        string,
        { source?: string; version?: string }
      >[];
      for (const [name, provider] of Object.entries(providers)) {
        assert.match(provider.source ?? '', /^hashicorp\//, `${where}: provider ${name} source`);
        assert.match(provider.version ?? '', /^~> \d+\.\d+$/, `${where}: provider ${name} version`);
      }
      for (const [name, body] of module.modules) {
        const source = String(body.source);
        if (source.startsWith('.')) continue;
        assert.match(
          String(body.version),
          /^~> \d+\.\d+$/,
          `${where}: module ${name} has no version constraint`,
        );
      }
    }
    assert.equal(examples.get(cloud)!.modules.get('fleet')?.source, `../../${cloud}`);
  });

  test(`${cloud}: the README lists exactly the module's resources, inputs and outputs`, () => {
    const readme = fs.readFileSync(path.join(TERRAFORM, cloud, 'README.md'), 'utf8');
    const declared = [
      ...mod(cloud).resources.keys(),
      ...[...mod(cloud).modules.keys()].map((name) => `module.${name}`),
    ];
    assert.deepEqual(tableNames(readme, 'What it creates').sort(), declared.sort());
    assert.deepEqual(tableNames(readme, 'Inputs').sort(), [...mod(cloud).variables.keys()].sort());
    for (const [name, variable] of mod(cloud).variables) {
      assert.ok(String(variable.description ?? '').length > 10, `variable ${name} needs a description`);
      assert.ok(variable.type, `variable ${name} needs a type`);
    }
    for (const output of mod(cloud).outputs.keys())
      assert.ok(readme.includes(`\`${output}\``), `output ${output}`);
  });

  test(`${cloud}: kustomize_env writes exactly the keys of the overlay's cloud.env`, () => {
    const expression = String(mod(cloud).outputs.get('kustomize_env')?.value);
    const written = [...expression.matchAll(/"([A-Z][A-Z0-9_]*)=/g)].map((match) => match[1]);
    const overlay = fs.readFileSync(path.join(REPO_ROOT, 'deploy/k8s/overlays', cloud, 'cloud.env'), 'utf8');
    assert.deepEqual(written.sort(), envKeys(overlay).sort());
  });

  test(`${cloud}: the GPU pool can hold every worker the ScaledObject may ask for`, () => {
    const scaledObject = parseYaml(
      fs.readFileSync(path.join(REPO_ROOT, 'deploy/k8s/base/worker-scaledobject.yaml'), 'utf8'),
    );
    const gpuMaxNodes = Number(mod(cloud).variables.get('gpu_max_nodes')?.default);
    assert.ok(gpuMaxNodes >= scaledObject.spec.maxReplicaCount, 'gpu_max_nodes below maxReplicaCount');
  });

  test(`${cloud}: the fleet namespace and service account match the Kustomize base`, () => {
    const base = parseYaml(
      fs.readFileSync(path.join(REPO_ROOT, 'deploy/k8s/base/kustomization.yaml'), 'utf8'),
    );
    const account = parseYaml(
      fs.readFileSync(path.join(REPO_ROOT, 'deploy/k8s/base/service-account.yaml'), 'utf8'),
    );
    assert.equal(mod(cloud).variables.get('namespace')?.default, base.namespace);
    const secret = block(resource(cloud, 'kubernetes_secret.fleet'), 'metadata');
    assert.equal(secret.name, 'headkv-secrets');
    const binding =
      cloud === 'aws'
        ? JSON.stringify(mod(cloud).modules.get('pod_role')?.oidc_providers)
        : String(resource(cloud, 'google_service_account_iam_member.workload_identity').member);
    const expected =
      cloud === 'aws'
        ? `\${var.namespace}:${account.metadata.name}`
        : `[\${var.namespace}/${account.metadata.name}]`;
    assert.ok(binding.includes(expected), `the pod identity must be bound to ${expected}, got ${binding}`);
  });
}

test('aws: GPU node group from zero with the NVIDIA AMI, taint and label the workers select', () => {
  const groups = mod('aws').modules.get('eks')?.eks_managed_node_groups as Record<string, HclBody>;
  const gpu = groups.gpu;
  assert.equal(gpu.ami_type, 'AL2023_x86_64_NVIDIA');
  assert.equal(gpu.min_size, 0);
  assert.equal(gpu.desired_size, 0);
  const cluster = fs.readFileSync(path.join(TERRAFORM, 'aws/cluster.tf'), 'utf8');
  assert.match(cluster, /"headkv\.dev\/pool" = "gpu"/);
  assert.match(cluster, /key {4}= "nvidia\.com\/gpu"/);
  assert.match(cluster, /node-template\/resources\/nvidia\.com\/gpu"\s+= "1"/);
  const autoscaler = String(resource('aws', 'helm_release.cluster_autoscaler').values);
  assert.match(autoscaler, /"skip-nodes-with-local-storage"\s+= "false"/);
  resource('aws', 'helm_release.nvidia_device_plugin');
  assert.match(String(resource('aws', 'helm_release.keda').version), /keda_chart_version/);
  assert.match(String(mod('aws').variables.get('keda_chart_version')?.default), /^2\.(1[6-9]|[2-9]\d)\./);
});

test('aws: ElastiCache Redis with TLS, AUTH, failover and noeviction; a private S3 bucket', () => {
  const redis = resource('aws', 'aws_elasticache_replication_group.redis');
  assert.equal(redis.transit_encryption_enabled, true);
  assert.equal(redis.automatic_failover_enabled, true);
  assert.match(String(redis.auth_token), /random_password\.redis_auth/);
  const parameters = resource('aws', 'aws_elasticache_parameter_group.redis').parameter as HclBody[];
  assert.deepEqual(parameters, [{ name: 'maxmemory-policy', value: 'noeviction' }]);
  const access = resource('aws', 'aws_s3_bucket_public_access_block.batch_files');
  for (const flag of [
    'block_public_acls',
    'block_public_policy',
    'ignore_public_acls',
    'restrict_public_buckets',
  ]) {
    assert.equal(access[flag], true, flag);
  }
  const secret = resource('aws', 'kubernetes_secret.fleet').data as Record<string, string>;
  assert.match(secret.REDIS_URL, /^rediss:\/\//);
});

test('gcp: GPU pool from zero with a driver, KEDA, Memorystore with TLS/AUTH/noeviction', () => {
  const gpu = resource('gcp', 'google_container_node_pool.gpu');
  assert.equal(block(gpu, 'autoscaling').total_min_node_count, 0);
  const nodeConfig = block(gpu, 'node_config');
  const accelerator = block(nodeConfig, 'guest_accelerator');
  assert.equal(accelerator.count, 1);
  assert.equal(block(accelerator, 'gpu_driver_installation_config').gpu_driver_version, 'LATEST');
  assert.match(String(nodeConfig.labels), /"headkv\.dev\/pool" = "gpu"/);
  resource('gcp', 'helm_release.keda');
  const redis = resource('gcp', 'google_redis_instance.queue');
  assert.equal(redis.auth_enabled, true);
  assert.equal(redis.transit_encryption_mode, 'SERVER_AUTHENTICATION');
  assert.deepEqual(redis.redis_configs, { 'maxmemory-policy': 'noeviction' });
  assert.equal(resource('gcp', 'google_storage_bucket.batch_files').public_access_prevention, 'enforced');
});

test('gcp: the Secret holds every key the gcp overlay and the S3 client read', () => {
  const data = resource('gcp', 'kubernetes_secret.fleet').data as Record<string, string>;
  assert.match(data.REDIS_URL, /^rediss:\/\//);
  const overlay = path.join(REPO_ROOT, 'deploy/k8s/overlays/gcp');
  const mountedKeys = fs
    .readdirSync(overlay)
    .filter((name) => name.startsWith('redis-ca-'))
    .flatMap((name) => {
      const patch = parseYaml(fs.readFileSync(path.join(overlay, name), 'utf8'));
      const volumes = patch.spec.template.spec.volumes as {
        secret?: { secretName: string; items: { key: string }[] };
      }[];
      return volumes.flatMap((volume) => volume.secret?.items.map((item) => item.key) ?? []);
    });
  assert.ok(mountedKeys.length > 0, 'the gcp overlay mounts the Redis CA');
  for (const key of [...mountedKeys, 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']) {
    assert.ok(key in data, `headkv-secrets lacks ${key}`);
  }
});
