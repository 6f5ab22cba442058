export * from './file-storage';
export * from './local-directory-storage';
export * from './s3-storage';
export * from './storage-from-env';
