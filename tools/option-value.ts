// option-value.ts: the value after `--name` on a tool's command line (tools/train, tools/demo).

/** The argument after `name` in `args`, undefined when `name` is absent; a missing value is an error. */
export function optionValue(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = args[at + 1];
  if (value === undefined) throw new Error(`${name} needs a value`);
  return value;
}
