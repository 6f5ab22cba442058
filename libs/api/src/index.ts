export * from './api-error';
export * from './chat-types';
export * from './validate-chat-request';
export * from './batch-types';
export * from './parse-batch-line';
