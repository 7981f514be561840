import { head } from '../bounded-text.js';

/**
 * Reading Airbyte's Slack Block Kit notifications. Airbyte builds them in
 * airbyte-notification's SlackNotificationClient (airbytehq/airbyte-platform, see
 * test/fixtures/SOURCES.md): blocks[0] is a section whose text is the title,
 * "[tag] Title: <URL|NAME>" (the tag is "THIS IS A TEST NOTIFICATION" for the Test
 * button); later sections carry fields ("*Source:*", "<URL|NAME>", ...) and, on
 * failures, a "*Failure reason:*" code block. Every text is read on a bounded prefix and
 * every pattern here is linear: no nested quantifiers, bounded repetitions only.
 */

export interface SlackLink {
  url: string;
  label: string;
}

export interface BlockView {
  /** blocks[0]'s text without its tag, '' when there is none. */
  title: string;
  /** The "[tag] " prefix of the title (or of the text, for schema changes), without brackets. */
  tag: string | null;
  /** The texts of every section and field, in order, each cut to the scan limit. */
  texts: string[];
  /** Label → value of section fields ("Source" → "<URL|NAME>"). */
  fields: Map<string, string>;
}

const MAX_BLOCKS = 50; // Slack's own limit per message
const MAX_FIELDS = 20;
const TAG = /^\[([^\]\n]{1,200})\] ?/;

export function readBlocks(blocks: unknown, text: string): BlockView {
  const texts: string[] = [];
  const fields = new Map<string, string>();
  let title = '';
  const list = Array.isArray(blocks) ? blocks.slice(0, MAX_BLOCKS) : [];
  list.forEach((block, index) => {
    const section = record(block);
    const sectionText = textOf(section?.text);
    if (sectionText !== null) {
      texts.push(sectionText);
      if (index === 0) title = sectionText;
    }
    const sectionFields = Array.isArray(section?.fields) ? section.fields.slice(0, MAX_FIELDS) : [];
    const values = sectionFields.map((field) => textOf(field) ?? '');
    texts.push(...values.filter(Boolean));
    // Fields come in label/value pairs: "*Source:*" then "<URL|NAME>".
    for (let i = 0; i + 1 < values.length; i += 2) {
      const label = fieldLabel(values[i]!);
      if (label && !fields.has(label)) fields.set(label, values[i + 1]!);
    }
  });
  const tagged = TAG.exec(title) ?? TAG.exec(head(text, 256));
  const withoutTag = tagged && title.startsWith(tagged[0]) ? title.slice(tagged[0].length) : title;
  return { title: withoutTag, tag: tagged?.[1] ?? null, texts, fields };
}

/** "*Source:*" → "source"; null for anything that does not look like a label. */
function fieldLabel(value: string): string | null {
  const match = /^\*([A-Za-z ]{1,40}):?\*$/.exec(value.trim());
  return match ? match[1]!.trim().toLowerCase() : null;
}

const LINK = /<([^<>|\s]{1,2048})\|([^<>]{0,1024})>/;
const LINKS = /<([^<>|\s]{1,2048})\|([^<>]{0,1024})>/g;

/**
 * The first Slack link `<URL|LABEL>` in `text`. Airbyte escapes the label's `<` and `>`
 * as `&lt;`/`&gt;` and its `&` as `$amp;` (sic, Notification.createLink), undone here.
 */
export function firstLink(text: string): SlackLink | null {
  const match = LINK.exec(head(text));
  if (!match) return null;
  return { url: match[1]!, label: unescapeLabel(match[2]!) };
}

/** `text` with each Slack link `<URL|LABEL>` shown as its label, as Slack displays it. */
export function linkLabels(text: string): string {
  return text.replace(LINKS, (_link, _url: string, label: string) => unescapeLabel(label));
}

function unescapeLabel(label: string): string {
  return label.replace(/&lt;|&gt;|\$amp;|&amp;/g, (entity) => (entity === '&lt;' ? '<' : entity === '&gt;' ? '>' : '&'));
}

/**
 * The error in a "*Failure reason:*" section: "```\n[errorType] message\n```". The type
 * is Airbyte's errorType ("null" when it had none).
 */
export function failureReason(texts: readonly string[]): { message: string; type: string | null } | null {
  for (const text of texts) {
    if (!text.startsWith('*Failure reason:*')) continue;
    const open = text.indexOf('```');
    if (open < 0) continue;
    const close = text.indexOf('```', open + 3);
    const body = text.slice(open + 3, close < 0 ? undefined : close).trim();
    const typed = /^\[([a-z_]{1,40})\] ?/.exec(body);
    const message = typed ? body.slice(typed[0].length) : body;
    const type = typed && typed[1] !== 'null' ? typed[1]! : null;
    return message ? { message, type } : null;
  }
  return null;
}

function textOf(value: unknown): string | null {
  const node = record(value);
  return typeof node?.text === 'string' ? head(node.text) : null;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}
