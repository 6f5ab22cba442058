export * from './queue-names';
export * from './job-priorities';
export * from './job-payloads';
export * from './request-job-id';
export * from './redis-channels';
export * from './fleet-events';
export * from './redis-connection';
