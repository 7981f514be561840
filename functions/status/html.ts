// Server-side HTML by tagged templates that escape everything interpolated, unless it is
// already Html: a vendor's text (a connector name, an error) can only ever become text on
// the page. Attribute values are always quoted in the templates, so escaping & < > " '
// covers them too. Nothing of a vendor's goes into a script, a style or an unencoded URL.

export class Html {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export type Renderable = Html | string | number | boolean | null | undefined | Date | readonly Renderable[];

export function html(strings: TemplateStringsArray, ...values: Renderable[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}

/** Trusted markup (the templates' own constants). Never pass it anything a vendor wrote. */
export function raw(markup: string): Html {
  return new Html(markup);
}

function render(value: Renderable): string {
  if (value instanceof Html) return value.value;
  if (value === null || value === undefined || value === false || value === true) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  if (value instanceof Date) return escapeHtml(value.toISOString());
  return escapeHtml(visible(String(value)));
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

// C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides and
// isolates that can make a text read as something else (a name shown reversed).
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A text as it can be shown: a lone surrogate becomes U+FFFD, and control and direction
 * characters are written out as `\u001b`, so what a vendor sent is visible and cannot
 * rearrange the page.
 */
export function visible(text: string): string {
  return text.toWellFormed().replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** At most `max` characters (by code point, never splitting a pair), with an ellipsis when cut. */
export function clip(text: string | null | undefined, max: number): string {
  if (!text) return '';
  const points = Array.from(text);
  return points.length > max ? `${points.slice(0, max - 1).join('')}…` : text;
}

/** A path with query parameters; empty values are left out. Escaped like any text when interpolated. */
export function href(path: string, params: Record<string, string | number | undefined | null> = {}): string {
  const query = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return query ? `${path}?${query}` : path;
}

/** One path segment from any text (an event id, a connector document id, a join name). */
export function segment(text: string): string {
  return encodeURIComponent(text.toWellFormed());
}
