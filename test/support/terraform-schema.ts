import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The argument and block names of one Terraform resource or data source, read offline
 * from the google provider's generated CDKTF bindings (@cdktf/provider-google, provider
 * 6.50). Each `lib/<name>/index.js` renders its configuration to HCL through
 * `synthesizeHclAttributes()` and one `<struct>ToHclTerraform()` function per nested
 * block; those list every argument under its snake_case name with `isBlock` telling
 * blocks from attributes, and a block's value names the function of its own struct.
 * The resource class's getters add the computed attributes (`url`, `name`, ...) that
 * references may read.
 */
export interface BlockSchema {
  attributes: Set<string>;
  blocks: Map<string, BlockSchema>;
}

export interface ResourceSchema extends BlockSchema {
  /** Everything an expression may read: arguments, blocks and computed attributes. */
  readable: Set<string>;
}

export type ResourceKind = 'resource' | 'data';

const require = createRequire(import.meta.url);
const providerLib = join(dirname(require.resolve('@cdktf/provider-google/package.json')), 'lib');

const cache = new Map<string, ResourceSchema | undefined>();

/** The schema of a resource or data source type, or undefined when the provider has no such type. */
export function resourceSchema(kind: ResourceKind, type: string): ResourceSchema | undefined {
  const key = `${kind} ${type}`;
  if (!cache.has(key)) cache.set(key, loadSchema(kind, type));
  return cache.get(key);
}

function loadSchema(kind: ResourceKind, type: string): ResourceSchema | undefined {
  if (type.startsWith('archive_')) return kind === 'data' ? ARCHIVE_DATA_SOURCES[type] : undefined;
  if (kind === 'resource' && type in HAND_WRITTEN_RESOURCES) return HAND_WRITTEN_RESOURCES[type];
  if (!type.startsWith('google_')) return undefined;
  const folder = kind === 'data' ? `data-${type.replaceAll('_', '-')}` : type.slice('google_'.length).replaceAll('_', '-');
  const file = join(providerLib, folder, 'index.js');
  if (!existsSync(file)) return undefined;
  const source = stripSourceMap(readFileSync(file, 'utf8'));
  if (!source.includes(`.tfResourceType = "${type}"`)) return undefined;
  return parseGenerated(source);
}

function stripSourceMap(source: string): string {
  const at = source.indexOf('//# sourceMappingURL=');
  return at === -1 ? source : source.slice(0, at);
}

const CDKTF_CLASS = /\nclass (\w+) extends cdktf\.(?:TerraformResource|TerraformDataSource) \{/;

function parseGenerated(source: string): ResourceSchema {
  const structs = structBodies(source);
  const main = CDKTF_CLASS.exec(source);
  if (!main) throw new Error('generated provider source without a resource class');
  const classBody = source.slice(main.index);
  const hcl = classBody.slice(classBody.indexOf('synthesizeHclAttributes()'));
  const schema = parseAttrs(hcl, structs, new Set());
  const readable = new Set([...schema.attributes, ...schema.blocks.keys()]);
  for (const m of classBody.matchAll(/\.(?:get\w*Attribute|interpolationForAttribute)\('(\w+)'\)/g)) readable.add(m[1]!);
  for (const m of classBody.matchAll(/\(this, "(\w+)"/g)) readable.add(m[1]!);
  return { ...schema, readable };
}

/** `function fooToHclTerraform(struct) { ... }` bodies by struct name. */
function structBodies(source: string): Map<string, string> {
  const bodies = new Map<string, string>();
  const starts = [...source.matchAll(/\nfunction (\w+)ToHclTerraform\(struct\) \{/g)];
  for (const start of starts) {
    const from = start.index + start[0].length;
    const next = source.slice(from).search(/\n(?:function|class) /);
    bodies.set(start[1]!, source.slice(from, next === -1 ? undefined : from + next));
  }
  return bodies;
}

const ATTR = /(\w+): \{\s*value: ([^\n]*),\s*isBlock: (true|false),/g;

function parseAttrs(body: string, structs: Map<string, string>, seen: Set<string>): BlockSchema {
  const schema: BlockSchema = { attributes: new Set(), blocks: new Map() };
  for (const m of body.matchAll(ATTR)) {
    const [, name, value, isBlock] = m as unknown as [string, string, string, string];
    if (isBlock === 'false') {
      schema.attributes.add(name);
      continue;
    }
    const struct = /(?<!cdktf\.)\b(\w+)ToHclTerraform\b/.exec(value)?.[1];
    const nested = struct === undefined ? undefined : structs.get(struct);
    schema.blocks.set(
      name,
      nested === undefined || seen.has(struct!)
        ? { attributes: new Set(), blocks: new Map() }
        : parseAttrs(nested, structs, new Set([...seen, struct!])),
    );
  }
  return schema;
}

function block(attributes: string[], blocks: Record<string, BlockSchema> = {}): BlockSchema {
  return { attributes: new Set(attributes), blocks: new Map(Object.entries(blocks)) };
}

/**
 * hashicorp/archive 2.x is not shipped as CDKTF bindings here, so its one data source
 * is written out by hand from the provider's documentation (archive_file, v2.4+).
 */
const ARCHIVE_FILE_ARGUMENTS = block(
  [
    'type',
    'output_path',
    'output_file_mode',
    'source_content',
    'source_content_filename',
    'source_file',
    'source_dir',
    'excludes',
    'exclude_symlink_directories',
  ],
  { source: block(['content', 'filename']) },
);

const ARCHIVE_DATA_SOURCES: Record<string, ResourceSchema> = {
  archive_file: {
    ...ARCHIVE_FILE_ARGUMENTS,
    readable: new Set([
      ...ARCHIVE_FILE_ARGUMENTS.attributes,
      'source',
      'id',
      'output_size',
      'output_md5',
      'output_sha',
      'output_sha256',
      'output_sha512',
      'output_base64sha256',
      'output_base64sha512',
    ]),
  },
};

function resource(attributes: string[], computed: string[], blocks: Record<string, BlockSchema> = {}): ResourceSchema {
  const schema = block(attributes, blocks);
  return { ...schema, readable: new Set([...attributes, ...Object.keys(blocks), ...computed]) };
}

/**
 * Resources of providers not shipped as CDKTF bindings here, written out by hand from
 * their documentation:
 * - google_project_service_identity is in google-beta only
 *   (https://registry.terraform.io/providers/hashicorp/google-beta/latest/docs/resources/project_service_identity):
 *   arguments service, project, timeouts; exports id, email and member ("serviceAccount:EMAIL").
 * - time_sleep, hashicorp/time 0.12
 *   (https://registry.terraform.io/providers/hashicorp/time/latest/docs/resources/sleep):
 *   create_duration, destroy_duration, triggers; exports id.
 */
const HAND_WRITTEN_RESOURCES: Record<string, ResourceSchema> = {
  google_project_service_identity: resource(['service', 'project'], ['id', 'email', 'member'], {
    timeouts: block(['create']),
  }),
  time_sleep: resource(['create_duration', 'destroy_duration', 'triggers'], ['id']),
};
