// Compose file variable interpolation, as `docker compose` applies it before validating the file:
// $$ (a literal $), $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}.

/** Parses a KEY=value env file (compose's .env); # comments and blank lines are skipped. */
export function parseEnvFile(text: string, file: string): Map<string, string> {
  const values = new Map<string, string>();
  text.split('\n').forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const equals = trimmed.indexOf('=');
    if (equals <= 0) throw new Error(`${file}:${index + 1}: expected KEY=value, got "${trimmed}"`);
    values.set(trimmed.slice(0, equals), trimmed.slice(equals + 1));
  });
  return values;
}

const REFERENCE = /\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

export function interpolate(text: string, env: Map<string, string>, file: string): string {
  return text.replace(
    REFERENCE,
    (
      whole,
      body: string,
      braced?: string,
      colon?: string,
      operator?: string,
      operand?: string,
      bare?: string,
    ) => {
      if (body === '$') return '$';
      const name = (braced ?? bare)!;
      const value = env.get(name);
      // With a colon, an empty value counts as unset.
      const unset = value === undefined || (colon === ':' && value === '');
      if (operator === '-') return unset ? operand! : value!;
      if (operator === '?') {
        if (unset) throw new Error(`${file}: required variable ${name} is not set: ${operand}`);
        return value!;
      }
      if (value === undefined)
        throw new Error(`${file}: variable ${name} in "${whole}" is not set and has no default`);
      return value;
    },
  );
}
