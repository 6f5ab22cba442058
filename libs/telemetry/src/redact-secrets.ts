/**
 * Masks credentials that a log line could pick up from an error or a configuration value: bearer
 * tokens ("Bearer sk-...") and the password of a URL ("redis://user:password@host"). A safety
 * net under the rule that secrets are never put into log messages in the first place.
 */
export function redactSecrets(text: string): string {
  return text
    .replace(/(Bearer\s+)[^\s"'\\,;]+/gi, '$1***')
    .replace(/([a-z][a-z0-9+.-]*:\/\/[^:@/\s"'\\]*:)[^@/\s"'\\]+@/gi, '$1***@');
}
