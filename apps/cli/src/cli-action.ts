// cli-action.ts: how every command reports failure: a non-zero exit status and ONE line on
// stderr naming the problem, never a stack trace.
export class CliError extends Error {}

function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

export function describeError(error: unknown): string {
  if (error instanceof Error) return oneLine(error.message) || error.name;
  return oneLine(String(error));
}

// Wraps a command's async action so that errors become the one-line report.
export function cliAction<Args extends unknown[]>(
  run: (...args: Args) => Promise<void>,
): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    try {
      await run(...args);
    } catch (error) {
      process.stderr.write(`headkv: ${describeError(error)}\n`);
      process.exitCode = 1;
    }
  };
}
