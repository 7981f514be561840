import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

/**
 * Static checks of the repository's documentation (README.md, the top-level *.md files and
 * docs/): every relative link and anchor resolves, and every `npm run …` / `postload …`
 * command it shows exists. Each check returns the problems it found, so the tests run it on
 * the real docs and on deliberately broken text.
 */

export interface Doc {
  /** Path relative to the repository root, with /. */
  path: string;
  text: string;
}

/** README.md and every other top-level Markdown file, plus everything under docs/. */
export function readDocs(root: string): Doc[] {
  const top = readdirSync(root).filter((name) => name.endsWith('.md'));
  const docsDir = join(root, 'docs');
  const nested = existsSync(docsDir)
    ? readdirSync(docsDir, { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.md'))
        .map((name) => `docs/${name.split('\\').join('/')}`)
    : [];
  return [...top, ...nested].sort().map((path) => ({ path, text: readFileSync(join(root, path), 'utf8') }));
}

/** The text without fenced code blocks (their lines blanked, so line numbers stay). */
export function withoutCodeBlocks(text: string): string {
  let fence: string | undefined;
  return text
    .split('\n')
    .map((line) => {
      const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
      if (fence === undefined && marker) {
        fence = marker;
        return '';
      }
      if (fence !== undefined) {
        if (marker && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker) fence = undefined;
        return '';
      }
      return line;
    })
    .join('\n');
}

/** Fenced code blocks' contents, one string per block. */
export function codeBlocks(text: string): string[] {
  const blocks: string[] = [];
  let fence: string | undefined;
  let current: string[] = [];
  for (const line of text.split('\n')) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && marker) {
      fence = marker;
      current = [];
    } else if (fence !== undefined && marker && marker[0] === fence[0] && line.trim() === marker) {
      blocks.push(current.join('\n'));
      fence = undefined;
    } else if (fence !== undefined) current.push(line);
  }
  return blocks;
}

/**
 * GitHub's heading anchors (github-slugger): the heading's text without Markdown, lower
 * case, every character that is not a letter, digit, mark, connector, space or hyphen
 * dropped, spaces turned into hyphens; a repeated slug gets -1, -2, … in order.
 */
export function anchors(text: string): Set<string> {
  const slugs = new Set<string>();
  const counts = new Map<string, number>();
  for (const line of withoutCodeBlocks(text).split('\n')) {
    const heading = /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const plain = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .replace(/[`*_~]/g, (c) => (c === '_' ? '_' : ''));
    const base = plain
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const seen = counts.get(base) ?? 0;
    counts.set(base, seen + 1);
    slugs.add(seen === 0 ? base : `${base}-${seen}`);
  }
  for (const m of text.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) slugs.add(m[1]!);
  return slugs;
}

export interface Link {
  doc: string;
  line: number;
  target: string;
}

/** Inline links and images outside code (blocks and spans): `[text](target)`. */
export function links(doc: Doc): Link[] {
  const found: Link[] = [];
  withoutCodeBlocks(doc.text)
    .split('\n')
    .forEach((line, index) => {
      const prose = line.replace(/`[^`]*`/g, (span) => ' '.repeat(span.length));
      for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) found.push({ doc: doc.path, line: index + 1, target: m[1]! });
    });
  return found;
}

/** Every relative link names a file of the repository, and every anchor a heading of it. */
export function checkLinks(root: string, docs: Doc[]): string[] {
  const problems: string[] = [];
  // The docs given are read as given (a page under test need not be on disk); other files from the disk.
  const anchorCache = new Map<string, Set<string>>(docs.map((doc) => [doc.path, anchors(doc.text)]));
  const anchorsOf = (file: string) => {
    if (!anchorCache.has(file)) anchorCache.set(file, anchors(readFileSync(join(root, file), 'utf8')));
    return anchorCache.get(file)!;
  };
  for (const doc of docs) {
    for (const link of links(doc)) {
      const where = `${link.doc}:${link.line}: (${link.target})`;
      if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) continue; // https:, mailto:
      const [pathPart = '', anchor] = link.target.split('#', 2) as [string, string | undefined];
      const file = pathPart === '' ? doc.path : relative(root, join(root, dirname(doc.path), decodeURIComponent(pathPart))).split('\\').join('/');
      if (file.startsWith('..')) {
        problems.push(`${where} points outside the repository`);
        continue;
      }
      if (!existsSync(join(root, file)) && !anchorCache.has(file)) {
        problems.push(`${where}: ${file} does not exist`);
        continue;
      }
      if (anchor === undefined) continue;
      if (!file.endsWith('.md') || (existsSync(join(root, file)) && statSync(join(root, file)).isDirectory())) {
        problems.push(`${where}: an anchor into ${file}, which is not a Markdown file`);
      } else if (!anchorsOf(file).has(decodeURIComponent(anchor))) {
        problems.push(`${where}: ${file} has no heading with the anchor #${anchor}`);
      }
    }
  }
  return problems;
}

export interface Command {
  doc: string;
  line: number;
  text: string;
}

/**
 * Shell commands the docs show: lines of fenced blocks (with `\` continuations joined)
 * and inline code spans.
 */
export function commands(doc: Doc): Command[] {
  const found: Command[] = [];
  const lines = doc.text.split('\n');
  let fence: string | undefined;
  let pending: { line: number; text: string } | undefined;
  lines.forEach((line, index) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === undefined && marker) {
      fence = marker;
      return;
    }
    if (fence !== undefined && marker && line.trim() === marker) {
      fence = undefined;
      return;
    }
    if (fence !== undefined) {
      // A shell comment is prose, not a command.
      const code = line.replace(/(^|\s)#.*$/, '');
      const joined = pending ? `${pending.text} ${code.trim()}` : code;
      if (joined.endsWith('\\')) pending = { line: pending?.line ?? index + 1, text: joined.slice(0, -1) };
      else {
        found.push({ doc: doc.path, line: pending?.line ?? index + 1, text: joined });
        pending = undefined;
      }
      return;
    }
    for (const m of line.matchAll(/`([^`]+)`/g)) found.push({ doc: doc.path, line: index + 1, text: m[1]! });
  });
  return found;
}

export interface CommandVocabulary {
  /** package.json scripts. */
  scripts: Set<string>;
  /** The CLI's commands and their long options. */
  cli: Map<string, Set<string>>;
  /** Options every command takes (the root's, --help). */
  globalOptions: Set<string>;
}

/** A shell line ends a command at a comment, a pipe, `;`, `&&`, `||`, `)` or a redirection. */
function commandEnd(rest: string): string {
  const end = rest.search(/\s#|[|;&)<>]/);
  return end < 0 ? rest : rest.slice(0, end);
}

/** Every `npm run X`, `npm start|test` and `postload CMD --opt` shown exists. */
export function checkCommands(docs: Doc[], vocabulary: CommandVocabulary): string[] {
  const problems: string[] = [];
  for (const doc of docs) {
    for (const { line, text } of commands(doc)) {
      const where = `${doc.path}:${line}`;
      for (const m of text.matchAll(/\bnpm (?:run(?:-script)? ([\w:-]+)|(start|test)\b)/g)) {
        const script = (m[1] ?? m[2])!;
        if (!vocabulary.scripts.has(script)) problems.push(`${where}: \`${m[0]}\`, but package.json has no script "${script}"`);
      }
      for (const m of text.matchAll(/(?:^|[\s"'(`])(?:npx )?postload((?:\s+[^\s]+)*)/g)) {
        const words = commandEnd(m[1] ?? '')
          .trim()
          .split(/\s+/)
          .filter(Boolean);
        const [first, ...rest] = words;
        if (first === undefined) continue;
        const flags = (first.startsWith('-') ? words : rest).filter((w) => /^--[a-z]/.test(w)).map((w) => w.replace(/=.*$/, ''));
        let options: Set<string>;
        let name = first;
        if (first.startsWith('-')) options = vocabulary.globalOptions;
        else if (!/^[a-z][a-z-]*$/.test(first)) continue; // prose: "postload's", "postload-processor"
        else {
          const sub = rest[0] !== undefined && /^[a-z][a-z-]*$/.test(rest[0]) ? vocabulary.cli.get(`${first} ${rest[0]}`) : undefined;
          if (sub) name = `${first} ${rest[0]}`;
          const command = sub ?? vocabulary.cli.get(first);
          if (!command) {
            // Only a command-shaped word after `npx postload`, or in a code span that starts with postload, is a command.
            if (/^(?:npx )?postload\s/.test(text.trim()) || /npx postload/.test(m[0]))
              problems.push(`${where}: \`postload ${first}\`, but the CLI has no command "${first}"`);
            continue;
          }
          options = command;
        }
        for (const flag of flags) {
          if (!options.has(flag) && !vocabulary.globalOptions.has(flag)) problems.push(`${where}: \`postload ${words.join(' ')}\`: "${name}" has no option ${flag}`);
        }
      }
    }
  }
  return problems;
}
