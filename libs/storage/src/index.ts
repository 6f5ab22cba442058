export * from './file-storage';
export * from './local-directory-storage';
export * from './partial-files';
export * from './s3-storage';
export * from './storage-from-env';
