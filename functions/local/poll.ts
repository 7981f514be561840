/**
 * Calls `probe` every `everyMs` until it returns something other than undefined, and
 * returns that; after `timeoutMs` throws an Error with `failure()` as its message.
 * For waiting on things that happen elsewhere: a log line, a request, a document.
 */
export async function pollUntil<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  { timeoutMs, everyMs = 100, failure }: { timeoutMs: number; everyMs?: number; failure: () => string },
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(failure());
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
