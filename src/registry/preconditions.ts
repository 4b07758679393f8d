import { PreconditionFailedError } from './errors.js';

/**
 * RFC 9110 conditional requests on a config whose strong ETag is its version number.
 * Header values arrive raw; `undefined` means the header was absent.
 */
export interface Preconditions {
  ifMatch?: string;
  ifNoneMatch?: string;
}

export function etagOf(version: number): string {
  return `"${version}"`;
}

/** Splits an entity-tag list (`"1", W/"2"`); `*` is returned as is. */
function entityTags(header: string): string[] {
  return header
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

/** Strong comparison (RFC 9110 §8.8.3.2): weak tags never match If-Match. */
export function ifMatchHolds(header: string, current: number | null): boolean {
  const tags = entityTags(header);
  if (tags.includes('*')) return current !== null;
  return current !== null && tags.includes(etagOf(current));
}

/** Weak comparison, as RFC 9110 §13.1.2 prescribes for If-None-Match. */
export function ifNoneMatchHolds(header: string, current: number | null): boolean {
  const tags = entityTags(header);
  if (tags.includes('*')) return current === null;
  if (current === null) return true;
  const mine = etagOf(current);
  return !tags.some((t) => t === mine || t === `W/${mine}`);
}

/** Checks If-Match / If-None-Match for a write against the current version (null: absent). */
export function checkWritePreconditions(pre: Preconditions, current: number | null): void {
  if (pre.ifMatch !== undefined && !ifMatchHolds(pre.ifMatch, current)) {
    throw new PreconditionFailedError(
      current === null
        ? `If-Match ${pre.ifMatch} does not hold: the config does not exist.`
        : `If-Match ${pre.ifMatch} does not hold: the current version is ${etagOf(current)}.`,
    );
  }
  if (pre.ifNoneMatch !== undefined && !ifNoneMatchHolds(pre.ifNoneMatch, current)) {
    throw new PreconditionFailedError(
      `If-None-Match ${pre.ifNoneMatch} does not hold: the config exists (version ${etagOf(current ?? 0)}).`,
    );
  }
}
