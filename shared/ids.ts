import { randomBytes } from 'node:crypto';

/**
 * Random bytes drawn 4 KiB at a time: one getrandom call per 256 ids, not one per id. The pool
 * is process-wide on purpose (like the random source itself), drawn on first use.
 */
const POOL_BYTES = 4_096;
let pool = Buffer.alloc(0);
let used = POOL_BYTES;

/** The offset of 16 fresh random bytes in the pool; each slot is handed out once. */
function randomSlot(): number {
  if (used + 16 > POOL_BYTES) {
    pool = randomBytes(POOL_BYTES);
    used = 0;
  }
  used += 16;
  return used - 16;
}

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids sort by
 * creation time, which keeps B-tree inserts at the right edge of the index. Written in place
 * in the pool's slot (used once), read out as hex: no buffer per id.
 */
export function uuidv7(now: number = Date.now()): string {
  const at = randomSlot();
  pool.writeUIntBE(now, at, 6);
  pool[at + 6] = 0x70 | ((pool[at + 6] ?? 0) & 0x0f);
  pool[at + 8] = 0x80 | ((pool[at + 8] ?? 0) & 0x3f);
  const hex = pool.toString('hex', at, at + 16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The least UUID version 7 of this Unix millisecond or later, as the ids are stored (lower-case
 * hex, ASCII collation): `id >= uuidv7Floor(t)` is a primary-key range over the rows whose id
 * was made at `t` or after.
 */
export function uuidv7Floor(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}
