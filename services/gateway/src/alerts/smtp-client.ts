import { connect, type Socket } from 'node:net';

/** A minimal SMTP client (RFC 5321: EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT) over a plain TCP connection. */
export interface SmtpTarget {
  host: string;
  port: number;
  user?: string;
  password?: string;
}

export interface MailMessage {
  from: string;
  to: string[];
  subject: string;
  text: string;
}

/** Parses `smtp://[user:password@]host[:port]` (default port 25). */
export function parseSmtpUrl(raw: string): SmtpTarget {
  const u = new URL(raw);
  if (u.protocol !== 'smtp:') throw new Error(`SMTP_URL must start with smtp:// (got ${u.protocol})`);
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 25,
    ...(u.username ? { user: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
}

/** Header values never carry line breaks (no header injection). */
function headerValue(v: string): string {
  return v.replace(/[\r\n]+/g, ' ').slice(0, 900);
}

/** The message as sent after DATA: headers, CRLF line ends, dot-stuffed, ending in CRLF.CRLF. */
export function formatMessage(m: MailMessage, now = new Date()): string {
  const headers = [
    `From: <${headerValue(m.from)}>`,
    `To: ${m.to.map((t) => `<${headerValue(t)}>`).join(', ')}`,
    `Subject: ${headerValue(m.subject)}`,
    `Date: ${now.toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
  ];
  const body = m.text
    .replace(/\r\n|\r|\n/g, '\r\n')
    .split('\r\n')
    .map((line) => (line.startsWith('.') ? `.${line}` : line))
    .join('\r\n');
  return `${headers.join('\r\n')}\r\n\r\n${body}\r\n.\r\n`;
}

class SmtpSession {
  private buffer = '';
  private lines: string[] = [];
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;

  constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let i: number;
      while ((i = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, i).replace(/\r$/, ''));
        this.buffer = this.buffer.slice(i + 1);
      }
      this.wake();
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('SMTP server closed the connection')));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** The next complete reply (multi-line replies have `-` after the code on all but the last line). */
  async reply(): Promise<{ code: number; text: string }> {
    const collected: string[] = [];
    for (;;) {
      const line = this.lines.shift();
      if (line === undefined) {
        if (this.failure) throw this.failure;
        await new Promise<void>((r) => (this.waiter = r));
        continue;
      }
      collected.push(line);
      if (!/^\d{3}-/.test(line)) {
        const code = Number(line.slice(0, 3));
        if (!Number.isInteger(code)) throw new Error(`unexpected SMTP reply "${line.slice(0, 100)}"`);
        return { code, text: collected.join('\n') };
      }
    }
  }

  async command(line: string | null, expect: number[]): Promise<string> {
    if (line !== null) this.socket.write(`${line}\r\n`);
    const r = await this.reply();
    if (!expect.includes(r.code)) {
      const shown = line === null ? 'greeting' : line.startsWith('AUTH') ? 'AUTH' : line.split(' ')[0];
      throw new Error(`SMTP ${shown}: ${r.text.slice(0, 300)}`);
    }
    return r.text;
  }
}

/** Sends one message; resolves when the server accepted it (250 after DATA). */
export async function sendMail(target: SmtpTarget, message: MailMessage, timeoutMs: number): Promise<void> {
  if (message.to.length === 0) throw new Error('no recipients');
  const socket = connect({ host: target.host, port: target.port });
  socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`SMTP timed out after ${timeoutMs} ms`)));
  try {
    const s = new SmtpSession(socket);
    await s.command(null, [220]);
    await s.command('EHLO swarm-mesh', [250]);
    if (target.user !== undefined) {
      const token = Buffer.from(`\u0000${target.user}\u0000${target.password ?? ''}`).toString('base64');
      await s.command(`AUTH PLAIN ${token}`, [235]);
    }
    await s.command(`MAIL FROM:<${headerValue(message.from)}>`, [250]);
    for (const to of message.to) await s.command(`RCPT TO:<${headerValue(to)}>`, [250, 251]);
    await s.command('DATA', [354]);
    await s.command(formatMessage(message).replace(/\r\n$/, ''), [250]);
    await s.command('QUIT', [221]).catch(() => '');
  } finally {
    socket.destroy();
  }
}
