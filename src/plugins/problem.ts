import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, errorCatalogue, type ErrorCode } from '../errors.js';

/** The RFC 9457 problem document every error response carries. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  requestId: string;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** A stable URI per code (RFC 9457 §3.1.1); the codes are the keys of `errorCatalogue`. */
export function problemType(code: ErrorCode): string {
  return `urn:strongroom:problem:${code.toLowerCase().replace(/_/g, '-')}`;
}

/** Fastify's own client errors, by their code, mapped into our catalogue. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_VALIDATION: 'VALIDATION_FAILED',
  FST_ERR_ASYNC_CONSTRAINT: 'VALIDATION_FAILED',
};

interface ValidationIssue {
  location: string;
  path: string;
  message: string;
}

/**
 * The issues of a failed schema validation, as locations and messages only. Zod's messages
 * name types and limits, never the value that was sent (which may be a secret).
 */
function validationIssues(err: FastifyError): ValidationIssue[] {
  if (!hasZodFastifySchemaValidationErrors(err)) return [];
  const location = err.validationContext ?? 'body';
  return err.validation.slice(0, 20).map((v) => ({
    location,
    path: v.instancePath.replace(/^\//, '').replace(/\//g, '.'),
    message: String(v.message ?? 'is not valid').slice(0, 200),
  }));
}

function toAppError(err: FastifyError): AppError | undefined {
  if (err instanceof AppError) return err;
  if (hasZodFastifySchemaValidationErrors(err)) {
    return new AppError('VALIDATION_FAILED', 'The request does not match the schema; see errors.', {
      extensions: { errors: validationIssues(err) },
    });
  }
  const mapped = err.code ? FASTIFY_CODES[err.code] : undefined;
  if (mapped) return new AppError(mapped);
  // Any other client error Fastify raises before our code runs (a 4xx with its own status).
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new AppError(err.statusCode === 413 ? 'PAYLOAD_TOO_LARGE' : 'VALIDATION_FAILED');
  }
  return undefined;
}

/** The problem document of `err` for `request`. */
export function problemOf(request: FastifyRequest, err: AppError): Problem {
  return {
    type: problemType(err.code),
    title: errorCatalogue[err.code].title,
    status: err.status,
    detail: err.message,
    code: err.code,
    requestId: request.id,
    ...err.extensions,
  };
}

/** Sends `err` as a problem document. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, err: AppError): FastifyReply {
  const problem = problemOf(request, err);
  if (err.code === 'UNAUTHENTICATED') void reply.header('www-authenticate', 'Bearer realm="strongroom"');
  const retryAfter = err.extensions.retry_after_seconds;
  if (typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
  return reply.code(err.status).type(PROBLEM_CONTENT_TYPE).send(problem);
}

/**
 * Installs the error and not-found handlers: every error leaves as
 * `application/problem+json`; an unexpected one as a bare 500 whose details go only to the
 * (redacted) log.
 */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const known = toAppError(err);
    if (known) {
      if (known.status >= 500) request.log.error({ err }, 'request failed');
      return sendProblem(request, reply, known);
    }
    request.log.error({ err }, 'unexpected error');
    return sendProblem(request, reply, new AppError('INTERNAL', 'An unexpected error occurred. Quote the requestId when reporting it.'));
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, new AppError('ROUTE_NOT_FOUND', `There is no endpoint ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 200)}.`)),
  );
}
