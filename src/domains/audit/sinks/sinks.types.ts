import { isIP } from 'node:net';
import { z } from 'zod';
import { name } from '../../../schemas.js';

/** The kinds of audit sink (A5). */
export type SinkKind = 'webhook' | 'syslog';

/** A webhook sink's settings: where batches are POSTed. */
export interface WebhookConfig {
  url: string;
}

/** A syslog sink's settings (RFC 5424 over TCP, or TLS per RFC 5425). */
export interface SyslogConfig {
  host: string;
  port: number;
  tls: boolean;
  app_name: string;
}

/** What `audit_sinks.config` holds: never a secret. */
export type SinkConfig = WebhookConfig | SyslogConfig;

// A DNS name (RFC 1123 labels) or an IP literal; bounded, so a host never reaches DNS unchecked.
const DNS_NAME = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

const hostName = z
  .string()
  .max(255)
  .transform((s) => (s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s))
  .refine((s) => isIP(s) !== 0 || DNS_NAME.test(s), 'must be a host name or an IP address')
  .describe('Host name or IP address of the syslog receiver');

/** RFC 5424 §6.2.5 APP-NAME: 1 to 48 printable US-ASCII characters. */
const appName = z
  .string()
  .regex(/^[\x21-\x7e]{1,48}$/, 'must be 1 to 48 printable ASCII characters without spaces')
  .describe('RFC 5424 APP-NAME');

const webhookBody = z
  .object({
    kind: z.literal('webhook'),
    name: name(100).describe('Unique (case-insensitively) among the org\'s sinks'),
    url: z
      .string()
      .max(2048)
      .describe('https:// URL batches are POSTed to, signed with the secret returned at creation'),
  })
  .strict();

const syslogBody = z
  .object({
    kind: z.literal('syslog'),
    name: name(100).describe('Unique (case-insensitively) among the org\'s sinks'),
    host: hostName,
    port: z.int().min(1).max(65535),
    tls: z.boolean().default(true).describe('TLS 1.2 or later (RFC 5425); plain TCP (RFC 6587) when false'),
    app_name: appName.default('strongroom'),
  })
  .strict();

export const createSinkBody = z.discriminatedUnion('kind', [webhookBody, syslogBody]);
export type CreateSinkInput = z.output<typeof createSinkBody>;

export const sinkParams = z.object({ sinkId: z.uuid().describe('A UUID') }).strict();

const sinkConfigResponse = z.union([
  z.object({ url: z.string() }),
  z.object({ host: z.string(), port: z.int(), tls: z.boolean(), app_name: z.string() }),
]);

export const sinkResponse = z.object({
  id: z.uuid(),
  kind: z.enum(['webhook', 'syslog']),
  name: z.string(),
  config: sinkConfigResponse,
  created_at: z.iso.datetime(),
  cursor_seq: z.int().describe('The last event seq the sink confirmed; it has received every event up to it'),
  attempts: z.int().describe('Failed deliveries since the last success'),
  last_error: z.string().nullable(),
  next_attempt_at: z.iso.datetime().nullable(),
  delivered_at: z.iso.datetime().nullable(),
});
export type SinkView = z.output<typeof sinkResponse>;

export const createdSinkResponse = sinkResponse.extend({
  secret: z
    .string()
    .optional()
    .describe('Webhooks only: the HMAC-SHA256 signing secret. Shown once; store it now.'),
});
export type CreatedSinkView = z.output<typeof createdSinkResponse>;

export const sinkListResponse = z.object({ sinks: z.array(sinkResponse) });
