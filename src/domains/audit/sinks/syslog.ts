import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { resolveDestination } from './destination.js';
import { SinkDeliveryError } from './errors.js';
import { frameOctetCounted } from './format.js';

/** Connecting, writing a batch and closing must finish within this. */
export const SYSLOG_TIMEOUT_MS = 10_000;

/** Options of {@link sendSyslog}. */
export interface SyslogSendOptions {
  host: string;
  port: number;
  tls: boolean;
  /** RFC 5424 messages, in order; each is sent octet-counted. */
  messages: readonly string[];
  allowPrivateNetworks: boolean;
  /** Extra trusted CA certificates (tests); production uses the system trust store. */
  ca?: string | Buffer;
  timeoutMs?: number;
}

/**
 * Sends a batch of syslog messages over one TCP (RFC 6587) or TLS (RFC 5425, TLS 1.2 or later)
 * connection with octet-counting framing, then closes it. Resolves only once the connection
 * closed cleanly — the receiver read up to our end of stream and closed its side — since syslog
 * has no application-level acknowledgement; any error or the timeout rejects (the batch is sent
 * again later: receivers dedupe by seq).
 */
export async function sendSyslog(opts: SyslogSendOptions): Promise<void> {
  const dest = await resolveDestination(opts.host, opts);
  const timeoutMs = opts.timeoutMs ?? SYSLOG_TIMEOUT_MS;
  const payload = Buffer.concat(opts.messages.map(frameOctetCounted));

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    let socket: Socket;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        resolve();
      }
    };
    const timer = setTimeout(
      () => finish(new SinkDeliveryError(`The syslog receiver did not take the batch within ${Math.round(timeoutMs / 1000)} s.`)),
      timeoutMs,
    );
    const send = () => socket.end(payload);
    if (opts.tls) {
      socket = tlsConnect(
        {
          host: dest.address,
          port: opts.port,
          ...(dest.servername === undefined ? {} : { servername: dest.servername }),
          minVersion: 'TLSv1.2',
          ...(opts.ca === undefined ? {} : { ca: opts.ca }),
        },
        send,
      );
    } else {
      socket = netConnect({ host: dest.address, port: opts.port }, send);
    }
    socket.on('data', () => {}); // a receiver may talk back; what it says is not read
    socket.on('error', (err) => finish(err));
    socket.on('close', (hadError) => {
      if (hadError) finish(new SinkDeliveryError('The syslog connection failed.'));
      else if (!socket.writableFinished) finish(new SinkDeliveryError('The syslog receiver closed the connection early.'));
      else finish();
    });
  });
}
