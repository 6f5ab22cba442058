// stop-strings.ts: stop strings on decoded text. Text that could still become the start of a
// stop string is held back from streaming so that a stop string is never emitted, even in part.
export interface StopMatch {
  // Text that is now safe to emit.
  release: string;
  // True once a stop string appeared; the text before it has been released.
  stopped: boolean;
}

export class StopStringMatcher {
  private pending = '';
  private stopped = false;

  constructor(private readonly stops: readonly string[]) {
    for (const stop of stops) {
      if (typeof stop !== 'string' || stop.length === 0)
        throw new Error('stop strings must be non-empty strings');
    }
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  push(text: string): StopMatch {
    if (this.stopped) return { release: '', stopped: true };
    this.pending += text;
    let earliest = -1;
    for (const stop of this.stops) {
      const index = this.pending.indexOf(stop);
      if (index >= 0 && (earliest < 0 || index < earliest)) earliest = index;
    }
    if (earliest >= 0) {
      this.stopped = true;
      const release = this.pending.slice(0, earliest);
      this.pending = '';
      return { release, stopped: true };
    }
    const held = this.heldSuffixLength();
    const release = this.pending.slice(0, this.pending.length - held);
    this.pending = this.pending.slice(this.pending.length - held);
    return { release, stopped: false };
  }

  // The held-back text, released when generation ends without a stop string.
  flush(): string {
    const rest = this.stopped ? '' : this.pending;
    this.pending = '';
    return rest;
  }

  // Length of the longest suffix of the pending text that is a proper prefix of a stop string.
  private heldSuffixLength(): number {
    let longest = 0;
    for (const stop of this.stops) {
      const max = Math.min(stop.length - 1, this.pending.length);
      for (let length = max; length > longest; length--) {
        if (this.pending.endsWith(stop.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }
}
