// bench-options.ts: what the fleet benchmarks (queue-overhead, load-10k) share: reading a
// positive integer option from the command line, and a percentile of sorted samples.

/** `--name N` from process.argv, a positive integer, else `fallback`. */
export function positiveIntegerOption(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`--${name} must be a positive integer, got "${process.argv[index + 1]}"`);
  }
  return value;
}

/** The sample at `fraction` (0.5 = median) of ascending `sorted` (nearest rank). */
export function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))];
}
