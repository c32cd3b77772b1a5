import type { Readable } from 'node:stream';

/** Splits a stream into lines and keeps the last `max` of them (for error messages). */
export class LineBuffer {
  private readonly lines: string[] = [];

  constructor(private readonly max = 200) {}

  /** Feeds every complete line of `stream` to `onLine` and keeps it. */
  attach(stream: Readable | null, onLine?: (line: string) => void, tag = ''): void {
    if (!stream) return;
    let partial = '';
    stream.setEncoding('utf8');
    const push = (line: string): void => {
      this.lines.push(tag + line);
      if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
      onLine?.(line);
    };
    stream.on('data', (chunk: string) => {
      partial += chunk;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        push(partial.slice(0, nl).replace(/\r$/, ''));
        partial = partial.slice(nl + 1);
      }
    });
    stream.on('end', () => {
      if (partial) push(partial);
      partial = '';
    });
  }

  all(): string[] {
    return [...this.lines];
  }

  text(): string {
    return this.lines.join('\n');
  }
}
