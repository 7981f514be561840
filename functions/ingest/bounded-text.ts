import { fullFormats } from 'ajv-formats/dist/formats.js';
import { clip as clipText, cutHead, cutTail } from '../shared/text-cut.js';

/**
 * How much of any vendor text the normalisers look at. Classification patterns run on
 * this prefix only, so a request's cost never grows with the length of a text field.
 */
export const TEXT_SCAN_LIMIT = 8 * 1024;

/** The longest error message a SyncEvent carries (Slack shows about 4,000 characters). */
export const ERROR_MESSAGE_LIMIT = 2_000;

/** The first `max` UTF-16 units of `text` (a scan prefix by default), never ending inside a surrogate pair. */
export function head(text: string, max: number = TEXT_SCAN_LIMIT): string {
  return cutHead(text, max);
}

/** The last `max` units of `text` after an ellipsis, never starting inside a surrogate pair. */
export const tail = cutTail;

/** `text` cut to `max` units (an error message's limit by default) with an ellipsis when it was longer. */
export function clip(text: string, max: number = ERROR_MESSAGE_LIMIT): string {
  return clipText(text, max);
}

const isDateTime = fullFormats['date-time'] as { validate: (value: string) => boolean };

/**
 * `value` when it is an RFC 3339 date-time as the SyncEvent schema's `format: date-time`
 * accepts it (the same ajv-formats check), else null: a vendor's malformed time must not
 * make the event invalid.
 */
export function dateTimeOrNull(value: unknown): string | null {
  return typeof value === 'string' && value.length <= 64 && isDateTime.validate(value) ? value : null;
}
