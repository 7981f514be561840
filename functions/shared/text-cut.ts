// Cutting text to a length without leaving half of a surrogate pair behind: a lone
// surrogate is not valid UTF-8, so Pub/Sub refuses it in an attribute and Slack's JSON
// decoder in a message.

/** The first `max` UTF-16 units of `text`, never ending inside a surrogate pair. */
export function cutHead(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = isHighSurrogate(text.charCodeAt(max - 1)) ? max - 1 : max;
  return text.slice(0, end);
}

/** The last `max` units of `text` after an ellipsis, never starting inside a surrogate pair. */
export function cutTail(text: string, max: number): string {
  if (text.length <= max) return text;
  let start = text.length - (max - 1);
  if (isLowSurrogate(text.charCodeAt(start))) start += 1;
  return `…${text.slice(start)}`;
}

/** `text` cut to `max` units, an ellipsis included, when it was longer. */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${cutHead(text, max - 1)}…`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
