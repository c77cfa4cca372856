import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { resolveDestination } from './destination.js';
import { SinkDeliveryError } from './errors.js';
import { signatureHeader } from './format.js';

/** A whole webhook delivery, connection to response, must finish within this. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** Response bodies are read and discarded; a receiver that sends more is cut off. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** Options of {@link sendWebhook}. */
export interface WebhookSendOptions {
  url: string;
  /** The HMAC key: the UTF-8 bytes of the sink's `whsec_…` secret. */
  secret: Uint8Array;
  body: string;
  allowPrivateNetworks: boolean;
  /** Extra trusted CA certificates (tests); production uses the system trust store. */
  ca?: string | Buffer;
  now?: () => Date;
  timeoutMs?: number;
}

/**
 * Checks a webhook URL as a sink may use it: https (http only together with
 * `allowPrivateNetworks`, for local testing), no credentials in it, no fragment.
 *
 * @throws SinkDeliveryError with a user-safe message.
 */
export function parseWebhookUrl(raw: string, opts: { allowPrivateNetworks: boolean }): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new SinkDeliveryError('The webhook URL is not a valid URL.');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && opts.allowPrivateNetworks)) {
    throw new SinkDeliveryError('The webhook URL must use https://.');
  }
  if (url.username !== '' || url.password !== '') {
    throw new SinkDeliveryError('The webhook URL must not contain credentials; deliveries are signed instead.');
  }
  if (url.hash !== '') throw new SinkDeliveryError('The webhook URL must not contain a fragment.');
  return url;
}

/**
 * POSTs one signed batch to a webhook. Resolves on a 2xx answer; rejects with a
 * {@link SinkDeliveryError} (or a Node network error) otherwise. Redirects are not followed.
 * The destination is checked by the SSRF guard and the connection goes to the checked address.
 */
export async function sendWebhook(opts: WebhookSendOptions): Promise<void> {
  const url = parseWebhookUrl(opts.url, opts);
  const dest = await resolveDestination(url.hostname, opts);
  const seconds = Math.floor((opts.now ?? (() => new Date()))().getTime() / 1000);
  const body = Buffer.from(opts.body, 'utf8');
  const timeoutMs = opts.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;

  await new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve();
    };
    const req = request(
      {
        method: 'POST',
        // The checked address, not the name: a second lookup could answer differently.
        host: dest.address,
        family: dest.family,
        port: url.port === '' ? undefined : Number(url.port),
        path: `${url.pathname}${url.search}`,
        // A fresh connection per delivery: no pooled socket to a previously allowed address.
        agent: false,
        headers: {
          host: url.host,
          'content-type': 'application/json',
          'content-length': String(body.length),
          'user-agent': 'strongroom-audit/1',
          'strongroom-signature': signatureHeader(opts.secret, seconds, opts.body),
          'strongroom-delivery': randomUUID(),
        },
        ...(url.protocol === 'https:'
          ? {
              servername: dest.servername,
              minVersion: 'TLSv1.2' as const,
              ...(opts.ca === undefined ? {} : { ca: opts.ca }),
            }
          : {}),
      },
      (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > MAX_RESPONSE_BYTES) res.destroy();
        });
        res.on('error', () => {});
        const done = () =>
          status >= 200 && status < 300 ? finish() : finish(new SinkDeliveryError(`The webhook answered HTTP ${status}.`));
        res.on('end', done);
        res.on('close', done);
      },
    );
    const timer = setTimeout(() => {
      finish(new SinkDeliveryError(`The webhook did not answer within ${Math.round(timeoutMs / 1000)} s.`));
      req.destroy();
    }, timeoutMs);
    req.on('error', (err) => finish(err));
    req.end(body);
  });
}
