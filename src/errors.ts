// Errors the library throws beyond the TypeError/RangeError of validation, with a stable `code`.

/** An Error with a stable `code` property callers can route on without parsing the message. */
export function codedError<E extends Error>(error: E, code: string): E & { code: string } {
  return Object.assign(error, { code });
}

/** Using a disposed plan or engine. */
export function disposedError(what: string): Error & { code: string } {
  return codedError(new Error(`${what} was disposed`), 'ERR_DISPOSED');
}
