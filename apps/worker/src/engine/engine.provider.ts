import { Logger, type FactoryProvider } from '@nestjs/common';
import { Engine } from '@headkv/engine';
import { WORKER_CONFIG, type WorkerConfig } from '../config/worker-config';

/** The one engine of this worker process (one device). */
export const engineProvider: FactoryProvider<Promise<Engine>> = {
  provide: Engine,
  inject: [WORKER_CONFIG],
  useFactory: async (config: WorkerConfig) => {
    const started = Date.now();
    const engine = await Engine.load(config.modelDir, {
      maxSequences: config.maxSequences,
      threads: config.threads,
      device: config.device,
      gpuIndex: config.gpuIndex,
      maxContext: config.maxContext > 0 ? config.maxContext : undefined,
      kvCacheBytes: config.kvCacheBytes > 0 ? config.kvCacheBytes : undefined,
    });
    new Logger('engine').log(
      `loaded ${config.modelDir} (${engine.info.architecture}, ${engine.info.nLayers} layers, ` +
        `fingerprint ${engine.info.fingerprint}) in ${Date.now() - started} ms`,
    );
    return engine;
  },
};
