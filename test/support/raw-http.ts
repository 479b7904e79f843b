import { connect, Socket } from 'node:net';
import { waitFor } from './wait-for';

/** A raw TCP client, for what an HTTP library would not send: slow bodies, broken requests. */
export class RawClient {
  private readonly chunks: Buffer[] = [];
  readonly socket: Socket;
  closed = false;
  closedAt = 0;
  /** When the last bytes arrived (ms since the epoch), as the socket saw them, not when a poll noticed. */
  lastDataAt = 0;

  private constructor(port: number) {
    this.socket = connect({ port, host: '127.0.0.1' });
    this.socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      this.lastDataAt = Date.now();
    });
    // a reset after the answer is how a server cuts a client off: the answer is what matters
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closed = true;
      this.closedAt = Date.now();
    });
  }

  static async open(port: number): Promise<RawClient> {
    const client = new RawClient(port);
    await new Promise<void>((resolve, reject) => {
      client.socket.once('connect', resolve);
      client.socket.once('error', reject);
    });
    return client;
  }

  write(data: string): void {
    if (!this.closed) this.socket.write(data);
  }

  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  /** Waits (with a deadline) until the server closes the connection. */
  async untilClosed(timeoutMs = 15_000): Promise<void> {
    await waitFor(() => this.closed, timeoutMs, 20);
  }

  /** Waits until `count` complete answers arrived. */
  async untilAnswers(count: number, timeoutMs = 15_000): Promise<RawAnswer[]> {
    await waitFor(() => parseAnswers(this.text).length >= count, timeoutMs, 20);
    return parseAnswers(this.text);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface RawAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** The complete HTTP/1.1 answers (Content-Length framed) in what a connection received. */
export function parseAnswers(text: string): RawAnswer[] {
  const answers: RawAnswer[] = [];
  let rest = text;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return answers;
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    const bodyBytes = Buffer.from(rest.slice(end + 4), 'utf8');
    if (bodyBytes.length < length) return answers;
    answers.push({ statusCode: Number(statusLine.split(' ')[1]), headers, body: bodyBytes.subarray(0, length).toString('utf8') });
    rest = bodyBytes.subarray(length).toString('utf8');
  }
}
