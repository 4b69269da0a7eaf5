// Plain JSON-shaped values, as sweep files, the ledger and .rx/point.json hold them.

/** A plain object (not null, not an array): the shape of a JSON object. */
export const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
