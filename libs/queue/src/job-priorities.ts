/**
 * BullMQ priorities: a lower number runs first. Interactive requests have a user waiting on the
 * socket, so they jump ahead of batch lines that are collected hours later.
 */
export const INTERACTIVE_PRIORITY = 1;
export const BATCH_PRIORITY = 10;
