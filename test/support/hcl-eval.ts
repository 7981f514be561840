import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import ipaddr from 'ipaddr.js';

/**
 * An evaluator for the HCL expressions terraform/ uses, for a machine with no terraform
 * binary: variable validations (run on the values Google and the code accept or refuse)
 * and the values Terraform gives the functions (their environment, resource names).
 *
 * Input is what @cdktf/hcl2json produces: a string whose literal parts are plain text and
 * whose `${…}` parts are HCL source. The language covered is what the configuration uses:
 * literals, tuples, objects, for expressions, conditionals, the arithmetic, comparison and
 * logical operators, attribute and index access, and the functions in FUNCTIONS. Anything
 * else throws an HclError naming it, so a new construct fails the tests loudly instead of
 * being evaluated wrongly.
 */

export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

export class HclError extends Error {
  override readonly name = 'HclError';
}

/** What a reference resolves to: `var.x`, `local.x`, `google_pubsub_topic.t.name`, … */
export type Resolver = (path: string[]) => Value;

export interface Scope {
  resolve: Resolver;
  /** Directory that relative paths in file() and fileexists() are taken from. */
  cwd?: string;
}

/** Evaluates a value as hcl2json renders it (a template string, or a nested structure of them). */
export function evaluate(value: unknown, scope: Scope): Value {
  if (typeof value === 'string') return evaluateTemplate(value, scope);
  if (Array.isArray(value)) return value.map((item) => evaluate(item, scope));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluate(v, scope)]));
  return (value ?? null) as Value;
}

/** A template: literal text with `${expr}` parts. A template that is one `${expr}` keeps the expression's type. */
export function evaluateTemplate(template: string, scope: Scope): Value {
  const parts = splitTemplate(template);
  if (parts.length === 1 && parts[0]!.kind === 'expr') return evaluateExpression(parts[0]!.text, scope);
  return parts.map((part) => (part.kind === 'text' ? part.text : stringOf(evaluateExpression(part.text, scope)))).join('');
}

export function evaluateExpression(source: string, scope: Scope): Value {
  const parser = new Parser(source);
  const node = parser.parseExpression();
  parser.expectEnd();
  return node(scope, new Map());
}

// --- templates ------------------------------------------------------------------------------

interface Part {
  kind: 'text' | 'expr';
  text: string;
}

function splitTemplate(template: string): Part[] {
  const parts: Part[] = [];
  let text = '';
  let i = 0;
  while (i < template.length) {
    if (template.startsWith('$${', i)) {
      text += '${';
      i += 3;
    } else if (template.startsWith('${', i)) {
      if (text) parts.push({ kind: 'text', text });
      text = '';
      const end = matchingBrace(template, i + 2);
      parts.push({ kind: 'expr', text: template.slice(i + 2, end) });
      i = end + 1;
    } else if (template.startsWith('%{', i)) {
      throw new HclError(`template directives (%{…}) are not supported: ${template}`);
    } else {
      text += template[i];
      i++;
    }
  }
  if (text || parts.length === 0) parts.push({ kind: 'text', text });
  return parts;
}

/** The index of the `}` closing a `${` whose content starts at `start`, skipping strings. */
function matchingBrace(source: string, start: number): number {
  let depth = 1;
  for (let i = start; i < source.length; i++) {
    const c = source[i];
    if (c === '"') i = endOfString(source, i);
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i;
  }
  throw new HclError(`unclosed \${ in ${source}`);
}

function endOfString(source: string, quote: number): number {
  for (let i = quote + 1; i < source.length; i++) {
    if (source[i] === '\\') i++;
    else if (source.startsWith('${', i)) i = matchingBrace(source, i + 2);
    else if (source[i] === '"') return i;
  }
  throw new HclError(`unclosed string in ${source}`);
}

// --- the parser: each node is a function of the scope and the for-expression bindings ---------

type Bindings = Map<string, Value>;
type Node = (scope: Scope, bindings: Bindings) => Value;

interface Token {
  kind: 'number' | 'string' | 'ident' | 'op' | 'end';
  text: string;
  /** For strings: the raw content between the quotes (HCL escapes, interpolations). */
  raw?: string;
}

const OPERATORS = ['...', '=>', '==', '!=', '<=', '>=', '&&', '||', '?', ':', '!', '<', '>', '+', '-', '*', '/', '%', '(', ')', '[', ']', '{', '}', ',', '.', '='];

class Parser {
  private readonly tokens: Token[];
  private position = 0;

  constructor(private readonly source: string) {
    this.tokens = tokenize(source);
  }

  expectEnd(): void {
    if (this.peek().kind !== 'end') throw new HclError(`unexpected "${this.peek().text}" in ${this.source}`);
  }

  parseExpression(): Node {
    const condition = this.parseBinary(0);
    if (!this.accept('?')) return condition;
    const whenTrue = this.parseExpression();
    this.expect(':');
    const whenFalse = this.parseExpression();
    return (scope, bindings) => (truth(condition(scope, bindings)) ? whenTrue(scope, bindings) : whenFalse(scope, bindings));
  }

  private static readonly PRECEDENCE: Record<string, number> = { '||': 1, '&&': 2, '==': 3, '!=': 3, '<': 4, '<=': 4, '>': 4, '>=': 4, '+': 5, '-': 5, '*': 6, '/': 6, '%': 6 };

  private parseBinary(minimum: number): Node {
    let left = this.parseUnary();
    for (;;) {
      const token = this.peek();
      const precedence = token.kind === 'op' ? Parser.PRECEDENCE[token.text] : undefined;
      if (precedence === undefined || precedence <= minimum) return left;
      this.position++;
      const right = this.parseBinary(precedence);
      const operator = token.text;
      const l = left;
      left = (scope, bindings) => binary(operator, l, right, scope, bindings);
    }
  }

  private parseUnary(): Node {
    if (this.accept('!')) {
      const operand = this.parseUnary();
      return (scope, bindings) => !truth(operand(scope, bindings));
    }
    if (this.accept('-')) {
      const operand = this.parseUnary();
      return (scope, bindings) => -numberOf(operand(scope, bindings));
    }
    return this.parsePostfix(this.parsePrimary());
  }

  private parsePostfix(node: Node): Node {
    for (;;) {
      if (this.accept('.')) {
        const name = this.next();
        if (name.kind !== 'ident' && name.kind !== 'number') throw new HclError(`expected an attribute name after "." in ${this.source}`);
        const base = node;
        node = (scope, bindings) => index(base(scope, bindings), name.text);
      } else if (this.accept('[')) {
        if (this.accept('*')) throw new HclError(`splat expressions are not supported: ${this.source}`);
        const key = this.parseExpression();
        this.expect(']');
        const base = node;
        node = (scope, bindings) => index(base(scope, bindings), key(scope, bindings));
      } else {
        return node;
      }
    }
  }

  private parsePrimary(): Node {
    const token = this.next();
    switch (token.kind) {
      case 'number': {
        const value = Number(token.text);
        return () => value;
      }
      case 'string':
        return stringNode(token.raw!);
      case 'ident':
        return this.parseIdentifier(token.text);
      case 'op':
        if (token.text === '(') {
          const inner = this.parseExpression();
          this.expect(')');
          return inner;
        }
        if (token.text === '[') return this.parseTuple();
        if (token.text === '{') return this.parseObject();
    }
    throw new HclError(`unexpected "${token.text}" in ${this.source}`);
  }

  private parseIdentifier(name: string): Node {
    if (name === 'true') return () => true;
    if (name === 'false') return () => false;
    if (name === 'null') return () => null;
    if (this.accept('(')) {
      const args: Node[] = [];
      if (!this.accept(')')) {
        do args.push(this.parseExpression());
        while (this.accept(','));
        if (this.accept('...')) throw new HclError(`argument expansion (...) is not supported: ${this.source}`);
        this.expect(')');
      }
      const fn = FUNCTIONS[name];
      if (!fn) throw new HclError(`function ${name}() is not supported by the evaluator: ${this.source}`);
      return (scope, bindings) => fn(args, scope, bindings);
    }
    // A reference: the root and its static attribute path (var.x, google_x.y.attr, each.value).
    const path = [name];
    while (this.peek().text === '.' && this.peekAt(1).kind === 'ident') {
      this.position++;
      path.push(this.next().text);
    }
    return (scope, bindings) => {
      if (bindings.has(name)) return path.slice(1).reduce<Value>((value, key) => index(value, key), bindings.get(name)!);
      return scope.resolve(path);
    };
  }

  private parseTuple(): Node {
    if (this.peek().text === 'for') return this.parseFor(']');
    const items: Node[] = [];
    while (!this.accept(']')) {
      items.push(this.parseExpression());
      if (!this.accept(',')) {
        this.expect(']');
        break;
      }
    }
    return (scope, bindings) => items.map((item) => item(scope, bindings));
  }

  private parseObject(): Node {
    if (this.peek().text === 'for') return this.parseFor('}');
    const entries: Array<[Node, Node]> = [];
    while (!this.accept('}')) {
      const keyToken = this.peek();
      let key: Node;
      if (keyToken.kind === 'ident' && (this.peekAt(1).text === '=' || this.peekAt(1).text === ':')) {
        this.position++;
        key = () => keyToken.text;
      } else {
        key = this.parseExpression();
      }
      if (!this.accept('=')) this.expect(':');
      entries.push([key, this.parseExpression()]);
      this.accept(',');
    }
    return (scope, bindings) => Object.fromEntries(entries.map(([k, v]) => [stringOf(k(scope, bindings)), v(scope, bindings)]));
  }

  /** `[for x in c : e if f]`, `[for k, v in c : e]`, `{for k, v in c : k => v}`. */
  private parseFor(close: ']' | '}'): Node {
    this.next(); // for
    const first = this.next().text;
    const second = this.accept(',') ? this.next().text : undefined;
    if (this.next().text !== 'in') throw new HclError(`expected "in" in ${this.source}`);
    const collection = this.parseExpression();
    this.expect(':');
    const key = close === '}' ? this.parseExpression() : undefined;
    if (close === '}') this.expect('=>');
    const item = this.parseExpression();
    const filter = this.peek().text === 'if' ? (this.next(), this.parseExpression()) : undefined;
    this.expect(close);
    return (scope, bindings) => {
      const source = collection(scope, bindings);
      const pairs: Array<[Value, Value]> = Array.isArray(source) ? source.map((v, i) => [i, v]) : isObject(source) ? Object.entries(source) : [];
      if (!Array.isArray(source) && !isObject(source)) throw new HclError(`for expression over a ${typeName(source)}`);
      const out: Array<[Value, Value]> = [];
      for (const [k, v] of pairs) {
        const inner = new Map(bindings);
        if (second === undefined) inner.set(first, v);
        else {
          inner.set(first, k);
          inner.set(second, v);
        }
        if (filter && !truth(filter(scope, inner))) continue;
        out.push([key ? key(scope, inner) : k, item(scope, inner)]);
      }
      return close === ']' ? out.map(([, v]) => v) : Object.fromEntries(out.map(([k, v]) => [stringOf(k), v]));
    };
  }

  private peek(): Token {
    return this.tokens[this.position]!;
  }

  private peekAt(offset: number): Token {
    return this.tokens[Math.min(this.position + offset, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const token = this.tokens[this.position]!;
    if (token.kind !== 'end') this.position++;
    return token;
  }

  private accept(text: string): boolean {
    const token = this.peek();
    if (token.kind === 'op' && token.text === text) {
      this.position++;
      return true;
    }
    return false;
  }

  private expect(text: string): void {
    if (!this.accept(text)) throw new HclError(`expected "${text}" but found "${this.peek().text}" in ${this.source}`);
  }
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#' || source.startsWith('//', i)) {
      while (i < source.length && source[i] !== '\n') i++;
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(source.slice(i))!;
      tokens.push({ kind: 'number', text: m[0] });
      i += m[0].length;
    } else if (c === '"') {
      const end = endOfString(source, i);
      tokens.push({ kind: 'string', text: source.slice(i, end + 1), raw: source.slice(i + 1, end) });
      i = end + 1;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(source.slice(i))!;
      tokens.push({ kind: 'ident', text: m[0] });
      i += m[0].length;
    } else {
      const operator = OPERATORS.find((op) => source.startsWith(op, i));
      if (!operator) throw new HclError(`unexpected character "${c}" in ${source}`);
      tokens.push({ kind: 'op', text: operator });
      i += operator.length;
    }
  }
  tokens.push({ kind: 'end', text: '(end)' });
  return tokens;
}

/** A quoted string: HCL escapes in its literal parts, `${…}` interpolations. */
function stringNode(raw: string): Node {
  const parts: Array<string | Node> = [];
  let text = '';
  let i = 0;
  while (i < raw.length) {
    if (raw[i] === '\\') {
      const c = raw[i + 1];
      const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' };
      if (c !== undefined && c in simple) {
        text += simple[c];
        i += 2;
      } else if (c === 'u' || c === 'U') {
        const digits = c === 'u' ? 4 : 8;
        text += String.fromCodePoint(parseInt(raw.slice(i + 2, i + 2 + digits), 16));
        i += 2 + digits;
      } else {
        throw new HclError(`unknown escape \\${c} in "${raw}"`);
      }
    } else if (raw.startsWith('$${', i)) {
      text += '${';
      i += 3;
    } else if (raw.startsWith('${', i)) {
      if (text) parts.push(text);
      text = '';
      const end = matchingBrace(raw, i + 2);
      const parser = new Parser(raw.slice(i + 2, end));
      const node = parser.parseExpression();
      parser.expectEnd();
      parts.push(node);
      i = end + 1;
    } else {
      text += raw[i];
      i++;
    }
  }
  if (text || parts.length === 0) parts.push(text);
  return (scope, bindings) => parts.map((part) => (typeof part === 'string' ? part : stringOf(part(scope, bindings)))).join('');
}

// --- semantics ---------------------------------------------------------------------------------

function binary(operator: string, left: Node, right: Node, scope: Scope, bindings: Bindings): Value {
  if (operator === '&&') return truth(left(scope, bindings)) && truth(right(scope, bindings));
  if (operator === '||') return truth(left(scope, bindings)) || truth(right(scope, bindings));
  const a = left(scope, bindings);
  const b = right(scope, bindings);
  switch (operator) {
    case '==':
      return equal(a, b);
    case '!=':
      return !equal(a, b);
    case '<':
      return numberOf(a) < numberOf(b);
    case '<=':
      return numberOf(a) <= numberOf(b);
    case '>':
      return numberOf(a) > numberOf(b);
    case '>=':
      return numberOf(a) >= numberOf(b);
    case '+':
      return numberOf(a) + numberOf(b);
    case '-':
      return numberOf(a) - numberOf(b);
    case '*':
      return numberOf(a) * numberOf(b);
    case '/':
      return numberOf(a) / numberOf(b);
    case '%':
      return numberOf(a) % numberOf(b);
  }
  throw new HclError(`operator ${operator} is not supported`);
}

function equal(a: Value, b: Value): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function truth(value: Value): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new HclError(`a ${typeName(value)} where a bool is required`);
}

/** Terraform converts numeric strings to numbers where a number is required. */
function numberOf(value: Value): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  throw new HclError(`a ${typeName(value)} (${JSON.stringify(value)}) where a number is required`);
}

/** Terraform converts numbers and bools to strings where a string is required. */
function stringOf(value: Value): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new HclError(`a ${typeName(value)} where a string is required`);
}

function index(value: Value, key: Value): Value {
  if (Array.isArray(value)) {
    const i = numberOf(key);
    if (!(i in value)) throw new HclError(`index ${i} out of range`);
    return value[i]!;
  }
  if (isObject(value)) {
    const k = stringOf(key);
    if (!Object.hasOwn(value, k)) throw new HclError(`no attribute "${k}"`);
    return value[k]!;
  }
  throw new HclError(`cannot index a ${typeName(value)}`);
}

function isObject(value: Value): value is { [key: string]: Value } {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function typeName(value: Value): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  return typeof value === 'object' ? 'object' : typeof value;
}

function flat(list: Value[]): Value[] {
  return list.flatMap((item) => (Array.isArray(item) ? flat(item) : [item]));
}

function listOf(value: Value): Value[] {
  if (Array.isArray(value)) return value;
  throw new HclError(`a ${typeName(value)} where a list is required`);
}

// --- functions (Terraform's, as documented at developer.hashicorp.com/terraform/language/functions) ---

type Fn = (args: Node[], scope: Scope, bindings: Bindings) => Value;

/**
 * A function of its evaluated arguments. A failure inside it (a bad CIDR, a value that
 * does not convert) is an HclError, which can() and try() catch, as Terraform's are.
 */
const strict =
  (body: (...values: Value[]) => Value): Fn =>
  (args, scope, bindings) => {
    const values = args.map((arg) => arg(scope, bindings));
    try {
      return body(...values);
    } catch (error) {
      throw error instanceof HclError ? error : new HclError((error as Error).message);
    }
  };

/** RE2 (Terraform) as a JavaScript regular expression: the constructs postload's patterns use are the same. */
function re2(pattern: string): RegExp {
  try {
    return new RegExp(pattern, 'u');
  } catch {
    return new RegExp(pattern);
  }
}

function fileIn(scope: Scope, path: string): string {
  return isAbsolute(path) ? path : join(scope.cwd ?? process.cwd(), path);
}

const FUNCTIONS: Record<string, Fn> = {
  can: (args, scope, bindings) => {
    try {
      args[0]!(scope, bindings);
      return true;
    } catch (error) {
      if (error instanceof HclError) return false;
      throw error;
    }
  },
  try: (args, scope, bindings) => {
    for (const arg of args) {
      try {
        return arg(scope, bindings);
      } catch (error) {
        if (!(error instanceof HclError)) throw error;
      }
    }
    throw new HclError('try(): no argument could be evaluated');
  },
  regex: strict((pattern, text) => {
    const m = re2(stringOf(pattern)).exec(stringOf(text));
    if (!m) throw new HclError(`regex ${String(pattern)} does not match ${JSON.stringify(text)}`);
    if (m.groups) return m.groups as Value;
    return m.length > 1 ? m.slice(1).map((g) => g ?? null) : m[0];
  }),
  contains: strict((list, item) => listOf(list).some((v) => equal(v, item))),
  length: strict((value) => (typeof value === 'string' ? [...value].length : Array.isArray(value) ? value.length : isObject(value) ? Object.keys(value).length : (() => { throw new HclError(`length() of a ${typeName(value)}`); })())),
  floor: strict((n) => Math.floor(numberOf(n))),
  ceil: strict((n) => Math.ceil(numberOf(n))),
  abs: strict((n) => Math.abs(numberOf(n))),
  min: strict((...ns) => Math.min(...ns.map(numberOf))),
  max: strict((...ns) => Math.max(...ns.map(numberOf))),
  tonumber: strict((v) => (v === null ? null : numberOf(v))),
  tostring: strict((v) => (v === null ? null : stringOf(v))),
  tobool: strict((v) => (v === null ? null : truth(v))),
  tolist: strict((v) => listOf(v)),
  toset: strict((v) => [...new Map(listOf(v).map((x) => [JSON.stringify(x), x])).values()]),
  trimsuffix: strict((s, suffix) => (stringOf(s).endsWith(stringOf(suffix)) ? stringOf(s).slice(0, -stringOf(suffix).length || undefined) : stringOf(s))),
  trimprefix: strict((s, prefix) => (stringOf(s).startsWith(stringOf(prefix)) ? stringOf(s).slice(stringOf(prefix).length) : stringOf(s))),
  startswith: strict((s, prefix) => stringOf(s).startsWith(stringOf(prefix))),
  endswith: strict((s, suffix) => stringOf(s).endsWith(stringOf(suffix))),
  strcontains: strict((s, part) => stringOf(s).includes(stringOf(part))),
  lower: strict((s) => stringOf(s).toLowerCase()),
  upper: strict((s) => stringOf(s).toUpperCase()),
  replace: strict((s, search, replacement) => {
    const pattern = stringOf(search);
    const m = /^\/(.*)\/$/.exec(pattern);
    return m ? stringOf(s).replace(new RegExp(m[1]!, 'gu'), stringOf(replacement)) : stringOf(s).split(pattern).join(stringOf(replacement));
  }),
  join: strict((separator, list) => listOf(list).map(stringOf).join(stringOf(separator))),
  split: strict((separator, s) => stringOf(s).split(stringOf(separator))),
  alltrue: strict((list) => listOf(list).every(truth)),
  anytrue: strict((list) => listOf(list).some(truth)),
  distinct: strict((list) => [...new Map(listOf(list).map((x) => [JSON.stringify(x), x])).values()]),
  flatten: strict((list) => flat(listOf(list))),
  concat: strict((...lists) => lists.flatMap(listOf)),
  merge: strict((...maps) => Object.assign({}, ...maps.map((m) => (m === null ? {} : isObject(m) ? m : (() => { throw new HclError(`merge() of a ${typeName(m)}`); })())))),
  keys: strict((m) => (isObject(m) ? Object.keys(m).sort() : (() => { throw new HclError('keys() of a non-object'); })())),
  coalesce: strict((...values) => {
    const found = values.find((v) => v !== null && v !== '');
    if (found === undefined) throw new HclError('coalesce(): no non-null, non-empty argument');
    return found;
  }),
  cidrhost: strict((prefix, host) => {
    const [address, bits] = ipaddr.parseCIDR(stringOf(prefix));
    if (numberOf(host) !== 0) throw new HclError('cidrhost() with a host number other than 0 is not supported');
    const bytes = address.toByteArray();
    const size = bytes.length * 8;
    for (let bit = bits; bit < size; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
    return ipaddr.fromByteArray(bytes).toString();
  }),
  fileexists: (args, scope, bindings) => existsSync(fileIn(scope, stringOf(args[0]!(scope, bindings)))),
  file: (args, scope, bindings) => {
    const path = fileIn(scope, stringOf(args[0]!(scope, bindings)));
    if (!existsSync(path)) throw new HclError(`file(): no such file ${path}`);
    return readFileSync(path, 'utf8');
  },
  jsondecode: strict((s) => {
    try {
      return JSON.parse(stringOf(s)) as Value;
    } catch (error) {
      throw new HclError(`jsondecode(): ${(error as Error).message}`);
    }
  }),
  jsonencode: strict((v) => JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)),
  base64encode: strict((s) => Buffer.from(stringOf(s), 'utf8').toString('base64')),
};
