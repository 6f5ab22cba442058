export * from './tracing';
export * from './json-logger';
export * from './redact-secrets';
