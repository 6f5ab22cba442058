import * as os from 'node:os';
import type { WorkerHeartbeat } from '@headkv/queue';

/** The device the engine runs on. The engine is a CPU engine today, so this is the host CPU. */
export function deviceInfo(): WorkerHeartbeat['device'] {
  const cpus = os.cpus();
  return {
    kind: 'cpu',
    name: `${cpus[0]?.model?.trim() ?? 'unknown CPU'} x${cpus.length}`,
    memoryBytes: os.totalmem(),
  };
}
