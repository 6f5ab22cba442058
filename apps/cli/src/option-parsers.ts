// option-parsers.ts: commander value parsers shared by the commands. A bad value is reported by
// commander as one line: "error: option '--max-tokens <n>' argument 'x' is invalid. ...".
import { InvalidArgumentError } from 'commander';

export function parsePositiveInteger(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number) || number < 1) {
    throw new InvalidArgumentError('expected a positive integer.');
  }
  return number;
}

export function parseNonNegativeInteger(value: string): number {
  const number = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(number)) {
    throw new InvalidArgumentError('expected a non-negative integer.');
  }
  return number;
}

export function parseNumber(value: string): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number)) throw new InvalidArgumentError('expected a number.');
  return number;
}

// "1,2,3" -> [1, 2, 3]
export function parseIdList(value: string): number[] {
  const parts = value.split(',').map((part) => part.trim());
  if (parts.length === 0 || parts.some((part) => !/^\d+$/.test(part))) {
    throw new InvalidArgumentError('expected comma-separated non-negative integers, e.g. 1,2,3.');
  }
  return parts.map(Number);
}

export function parseChoice<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value: string) => {
    if (!(choices as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}.`);
    }
    return value as T;
  };
}

// Repeatable string option: --stop a --stop b
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
