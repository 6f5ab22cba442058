// The Kustomize overlays render with kubectl's Kustomize, validate against the Kubernetes and KEDA
// schemas, and keep the promises docs/deploy.md makes about GPUs, draining and autoscaling.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodTemplateSpec } from 'kubernetes-models/v1/PodTemplateSpec';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { renderKustomization, type Manifest } from './kustomize-render';
import { schemaErrors, unknownFieldErrors } from './kubernetes-schema';
import * as path from 'node:path';
import { REPO_ROOT } from '../helpers/repo-paths';

const OVERLAYS = ['small', 'aws', 'gcp'];
/** Secrets created outside git (Terraform or kubectl), which the manifests may reference but not contain. */
const EXTERNAL_SECRETS = new Set(['headkv-secrets', 'headkv-api-keys']);

const rendered = new Map(
  OVERLAYS.map((overlay) => [overlay, renderKustomization(`deploy/k8s/overlays/${overlay}`)]),
);

function find(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
  assert.ok(found, `no ${kind} named ${name}`);
  return found;
}

function podTemplate(workload: Manifest): IPodTemplateSpec {
  return (workload.spec as { template: IPodTemplateSpec }).template;
}

function containersOf(template: IPodTemplateSpec): IContainer[] {
  return [...(template.spec?.initContainers ?? []), ...(template.spec?.containers ?? [])];
}

/** The data of the ConfigMap the worker reads its environment from. */
function workerConfigMap(manifests: Manifest[]): Record<string, string> {
  const [engine] = podTemplate(find(manifests, 'Deployment', 'headkv-worker')).spec?.containers ?? [];
  const reference = engine.envFrom?.find((source) => source.configMapRef)?.configMapRef?.name;
  return find(manifests, 'ConfigMap', reference ?? '(no ConfigMap)').data as Record<string, string>;
}

function env(container: IContainer, name: string): string | undefined {
  return container.env?.find((variable) => variable.name === name)?.value;
}

test('every overlay validates against the Kubernetes and KEDA JSON schemas', () => {
  for (const [overlay, manifests] of rendered) {
    assert.ok(manifests.length > 0, `${overlay} rendered nothing`);
    assert.deepEqual(schemaErrors(overlay, manifests), []);
  }
});

test('no manifest carries a field the Kubernetes or KEDA API does not define', () => {
  assert.deepEqual(unknownFieldErrors(rendered), []);
});

for (const [overlay, manifests] of rendered) {
  test(`${overlay}: GPU workers request one GPU, land on the GPU pool and drain before SIGKILL`, () => {
    const worker = find(manifests, 'Deployment', 'headkv-worker');
    const template = podTemplate(worker);
    const [engine] = template.spec?.containers ?? [];
    assert.equal(engine.resources?.limits?.['nvidia.com/gpu'], '1');
    assert.equal(engine.resources?.requests?.['nvidia.com/gpu'], '1');
    assert.equal(template.spec?.nodeSelector?.['headkv.dev/pool'], 'gpu');
    assert.ok(
      template.spec?.tolerations?.some(
        (toleration) => toleration.key === 'nvidia.com/gpu' && toleration.operator === 'Exists',
      ),
      'workers must tolerate the nvidia.com/gpu taint of GPU pools',
    );
    const drainMs = Number(env(engine, 'HEADKV_DRAIN_MS'));
    assert.ok(drainMs > 0, 'HEADKV_DRAIN_MS must be set on the worker');
    assert.ok(
      (template.spec?.terminationGracePeriodSeconds ?? 30) >= drainMs / 1000 + 30,
      'the grace period must cover the drain deadline plus time to flush and close',
    );
    const models = engine.volumeMounts?.find((mount) => mount.name === 'models');
    assert.ok(models, 'the worker mounts the model volume');
    const config = workerConfigMap(manifests);
    assert.ok(config.HEADKV_MODEL_ID, 'HEADKV_MODEL_ID names the model clients request');
    assert.equal(config.HEADKV_MODEL_DIR, `${models.mountPath}/model`);
    const fetch = template.spec?.initContainers?.find((container) => container.name === 'model-fetch');
    assert.ok(fetch, `${overlay} must fill the model volume with a model-fetch init container`);
    assert.ok(fetch.volumeMounts?.some((mount) => mount.name === 'models' && !mount.readOnly));
  });

  test(`${overlay}: the ScaledObject scales the workers from zero on the exporter in its own namespace`, () => {
    const scaledObject = find(manifests, 'ScaledObject', 'headkv-worker') as unknown as IScaledObject;
    const spec = scaledObject.spec;
    assert.equal(spec.scaleTargetRef.name, 'headkv-worker');
    assert.equal(spec.minReplicaCount, 0);
    assert.ok((spec.maxReplicaCount ?? 0) >= 1);
    assert.ok((spec.cooldownPeriod ?? 0) >= 60);
    const [trigger] = spec.triggers;
    assert.equal(trigger.type, 'metrics-api');
    assert.equal(trigger.metadata.activationTargetValue, '0');
    // One worker per HEADKV_MAX_SEQUENCES outstanding jobs: the jobs one worker runs at once.
    const workerConfig = workerConfigMap(manifests);
    assert.equal(trigger.metadata.targetValue, workerConfig.HEADKV_MAX_SEQUENCES);
    const url = new URL(trigger.metadata.url);
    const [serviceName, namespace, ...rest] = url.hostname.split('.');
    assert.deepEqual(rest, ['svc', 'cluster', 'local'], 'KEDA resolves the URL from its own namespace');
    assert.equal(namespace, scaledObject.metadata?.namespace);
    const service = find(manifests, 'Service', serviceName);
    const port = (service.spec as { ports: { port: number }[] }).ports.map((entry) => entry.port);
    assert.ok(port.includes(Number(url.port)), `Service ${serviceName} has no port ${url.port}`);
    assert.equal(service.metadata.namespace, namespace);
  });

  test(`${overlay}: the exporter runs the committed queue-depth script`, () => {
    const exporter = find(manifests, 'Deployment', 'headkv-queue-metrics');
    const template = podTemplate(exporter);
    const [container] = template.spec?.containers ?? [];
    const scriptPath = env(container, 'REDIS_EXPORTER_SCRIPT');
    const mount = container.volumeMounts?.find((candidate) =>
      scriptPath?.startsWith(`${candidate.mountPath}/`),
    );
    assert.ok(mount, `REDIS_EXPORTER_SCRIPT ${scriptPath} is not on a mounted volume`);
    const volume = template.spec?.volumes?.find((candidate) => candidate.name === mount.name);
    const configMap = find(manifests, 'ConfigMap', volume?.configMap?.name ?? '(no ConfigMap volume)');
    const data = configMap.data as Record<string, string>;
    const fileName = scriptPath!.slice(mount.mountPath.length + 1);
    assert.equal(
      data[fileName],
      fs.readFileSync(path.join(REPO_ROOT, 'deploy/k8s/base/queue-depth.lua'), 'utf8'),
    );
    // The script reads the queues under the prefix the fleet is configured with.
    const prefix = /^local prefix = '([^']*)'$/m.exec(data[fileName])?.[1];
    assert.equal(prefix, workerConfigMap(manifests).HEADKV_QUEUE_PREFIX);
  });

  test(`${overlay}: pods run as non-root with pinned images, and every referenced ConfigMap exists`, () => {
    for (const workload of manifests.filter((manifest) =>
      ['Deployment', 'StatefulSet'].includes(manifest.kind),
    )) {
      const template = podTemplate(workload);
      for (const container of containersOf(template)) {
        const where = `${workload.metadata.name}/${container.name}`;
        assert.ok(
          template.spec?.securityContext?.runAsNonRoot || container.securityContext?.runAsNonRoot,
          `${where} may run as root`,
        );
        assert.equal(
          container.securityContext?.allowPrivilegeEscalation,
          false,
          `${where} allows privilege escalation`,
        );
        assert.match(
          container.image ?? '',
          /^[^:@]+(:[\w.-]+|@sha256:[0-9a-f]{64})$/,
          `${where} image is not pinned`,
        );
        assert.doesNotMatch(container.image ?? '', /:latest$/, `${where} uses :latest`);
        for (const source of container.envFrom ?? []) {
          if (source.configMapRef) find(manifests, 'ConfigMap', source.configMapRef.name!);
          if (source.secretRef)
            assert.ok(EXTERNAL_SECRETS.has(source.secretRef.name!), `${where}: unknown Secret`);
        }
      }
    }
  });

  test(`${overlay}: the coordinator is probed on /healthz and /readyz and kept up by its PDB`, () => {
    const coordinator = find(manifests, 'Deployment', 'headkv-coordinator');
    const template = podTemplate(coordinator);
    const [container] = template.spec?.containers ?? [];
    assert.equal(env(container, 'HOST'), '0.0.0.0', 'the coordinator must listen beyond loopback in a pod');
    assert.equal(container.livenessProbe?.httpGet?.path, '/healthz');
    assert.equal(container.readinessProbe?.httpGet?.path, '/readyz');
    const budget = find(manifests, 'PodDisruptionBudget', 'headkv-coordinator');
    const selector = (budget.spec as { selector: { matchLabels: Record<string, string> } }).selector
      .matchLabels;
    for (const [key, value] of Object.entries(selector)) {
      assert.equal(
        template.metadata?.labels?.[key],
        value,
        `PDB selector ${key}=${value} misses the coordinator`,
      );
    }
  });
}

test('cloud overlays bind the pods to a cloud identity; the small overlay runs Redis in the cluster', () => {
  const annotation = (overlay: string, key: string) =>
    find(rendered.get(overlay)!, 'ServiceAccount', 'headkv').metadata.annotations?.[key];
  assert.match(annotation('aws', 'eks.amazonaws.com/role-arn') ?? '', /^arn:aws:iam::\d{12}:role\//);
  assert.match(annotation('gcp', 'iam.gke.io/gcp-service-account') ?? '', /@.+\.iam\.gserviceaccount\.com$/);
  const redis = find(rendered.get('small')!, 'StatefulSet', 'headkv-redis');
  const [container] = podTemplate(redis).spec?.containers ?? [];
  const args = container.args ?? [];
  assert.equal(args[args.indexOf('--appendonly') + 1], 'yes');
  assert.equal(args[args.indexOf('--maxmemory-policy') + 1], 'noeviction');
  for (const cloud of ['aws', 'gcp']) {
    assert.ok(!rendered.get(cloud)!.some((manifest) => manifest.metadata.name === 'headkv-redis'));
  }
});
