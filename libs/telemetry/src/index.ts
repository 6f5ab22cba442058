export * from './tracing';
export * from './json-logger';
