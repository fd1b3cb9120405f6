/**
 * The one check for options objects (createToniq, defineWorker, enqueue, adminHandler): a
 * misspelt option must be refused, not silently ignored, and the message lists the known ones.
 */

/** The keys of `given` that are not in `known`, in the order given. */
export function unknownKeys(given: object, known: readonly string[]): string[] {
  return Object.keys(given).filter((key) => !known.includes(key));
}

/**
 * `<where> got the unknown option "a". Known options: x, y.` (or "options" when several), or
 * undefined when every key is known.
 * Each caller throws it in the error class of its own API.
 */
export function unknownOptionsProblem(
  where: string,
  given: object,
  known: readonly string[],
): string | undefined {
  const unknown = unknownKeys(given, known);
  if (!unknown.length) return undefined;
  const named = unknown.map((key) => `"${key}"`).join(', ');
  return `${where} got the unknown option${unknown.length > 1 ? 's' : ''} ${named}. Known options: ${known.join(', ')}.`;
}
