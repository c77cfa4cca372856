/** The SQLSTATE and constraint of a database error, read the same way from pg and PGlite. */
function dbError(err: unknown): { code?: string; constraint?: string } {
  return typeof err === 'object' && err !== null ? (err as { code?: string; constraint?: string }) : {};
}

/** True for a unique-constraint violation (23505), optionally on a named index or constraint. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = dbError(err);
  return e.code === '23505' && (constraint === undefined || e.constraint === constraint);
}

/** True for a foreign-key violation (23503): the parent row is gone. */
export function isForeignKeyViolation(err: unknown): boolean {
  return dbError(err).code === '23503';
}
