/** Reads `schema.yaml` into the typed field declarations the compiler checks rules against. */
import type { Node } from 'yaml';
import type { FieldKind, FieldSpec, SchemaInfo } from './types.js';
import type { Path, YamlFile } from './parse.js';
import { didYouMean } from './suggest.js';

const SCALAR_KINDS: readonly FieldKind[] = ['string', 'number', 'boolean', 'string[]', 'number[]'];
const TYPE_NAMES = [...SCALAR_KINDS, ...SCALAR_KINDS.map((kind) => `${kind}?`)];

/** The implicit `actor.type` field: always readable, always optional. */
export const ACTOR_TYPE_SPEC: FieldSpec = Object.freeze({ kind: 'string', optional: true });
/** The implicit `action.type` field: always present (it selects the rules). */
export const ACTION_TYPE_SPEC: FieldSpec = Object.freeze({ kind: 'string', optional: false });


function readFieldType(file: YamlFile, node: Node | null, path: Path, name: string): FieldSpec | undefined {
  const scalar = file.scalar(node);
  if (typeof scalar === 'string') {
    const optional = scalar.endsWith('?');
    const kind = (optional ? scalar.slice(0, -1) : scalar) as FieldKind;
    if (!SCALAR_KINDS.includes(kind)) {
      file.issue('INVALID_TYPE', `field "${name}" has unknown type "${scalar}"${didYouMean(scalar, TYPE_NAMES)}; expected string, number, boolean, string[], number[] (optionally ending in ?) or { enum: [...] }`, file.resolve(node), path);
      return undefined;
    }
    return Object.freeze({ kind, optional });
  }
  if (scalar === undefined && !file.isSeq(node)) {
    const entries = file.map(node, path, `the type of field "${name}"`, ['enum', 'optional']);
    if (entries === undefined) return undefined;
    const list = file.require(entries, 'enum', node, path, `the type of field "${name}"`);
    if (list === undefined) return undefined;
    const items = file.seq(list.value, [...path, 'enum'], `enum of field "${name}"`);
    if (items === undefined) return undefined;
    const values: string[] = [];
    let ok = true;
    items.forEach((item, index) => {
      const value = file.scalar(item);
      if (typeof value !== 'string' || value.length === 0) {
        file.issue('INVALID_TYPE', `enum values of field "${name}" must be non-empty strings`, file.resolve(item), [...path, 'enum', index]);
        ok = false;
      } else if (values.includes(value)) {
        file.issue('INVALID_VALUE', `enum of field "${name}" lists "${value}" twice`, file.resolve(item), [...path, 'enum', index]);
        ok = false;
      } else values.push(value);
    });
    if (values.length === 0 && ok) {
      file.issue('INVALID_VALUE', `enum of field "${name}" must list at least one value`, file.resolve(list.value) ?? list.key, [...path, 'enum']);
      ok = false;
    }
    const optionalEntry = entries.get('optional');
    const optional = optionalEntry === undefined ? false : file.boolean(optionalEntry.value, [...path, 'optional'], 'optional');
    if (!ok || optional === undefined) return undefined;
    return Object.freeze({ kind: 'enum', optional, values: Object.freeze(values) });
  }
  file.issue('INVALID_TYPE', `field "${name}" must have a type: string, number, boolean, string[], number[] (optionally ending in ?) or { enum: [...] }`, file.resolve(node) ?? node, path);
  return undefined;
}

function readFields(file: YamlFile, owner: Node | null, path: Path, what: string, reserved: string | undefined): Map<string, FieldSpec> {
  const fields = new Map<string, FieldSpec>();
  if (owner === null || file.scalar(owner) === null) return fields;
  const outer = file.map(owner, path, what, ['fields']);
  if (outer === undefined) return fields;
  const fieldsEntry = outer.get('fields');
  if (fieldsEntry === undefined || file.scalar(fieldsEntry.value) === null) return fields;
  const entries = file.map(fieldsEntry.value, [...path, 'fields'], `fields of ${what}`, null);
  if (entries === undefined) return fields;
  for (const [name, entry] of entries) {
    const spec = readFieldType(file, entry.value, [...path, 'fields', name], name);
    if (spec === undefined) continue;
    if (name === reserved && spec.kind !== 'string' && spec.kind !== 'enum') {
      file.issue('INVALID_TYPE', `field "type" of ${what} is reserved for the ${what === 'actor' ? 'actor' : 'action'} type and must be a string or an enum`, entry.key, [...path, 'fields', name]);
      continue;
    }
    fields.set(name, spec);
  }
  return fields;
}

/**
 * Reads a schema document; issues go to the file's sink. Undefined when the document is not a
 * mapping (then the policy is only checked for structure, not against an empty schema).
 */
export function readSchema(file: YamlFile): SchemaInfo | undefined {
  const root = file.rootMap('the schema document', ['version', 'actions', 'actor', 'snapshot']);
  if (root === undefined) return undefined;
  file.version(root, []);
  const actions = new Map<string, ReadonlyMap<string, FieldSpec>>();
  const actionsEntry = root.get('actions');
  if (actionsEntry !== undefined && file.scalar(actionsEntry.value) !== null) {
    const entries = file.map(actionsEntry.value, ['actions'], 'actions', null);
    if (entries !== undefined) {
      for (const [name, entry] of entries) {
        actions.set(name, readFields(file, entry.value, ['actions', name], `action "${name}"`, 'type'));
      }
    }
  }
  const actor = readFields(file, root.get('actor')?.value ?? null, ['actor'], 'actor', 'type');
  const snapshot = readFields(file, root.get('snapshot')?.value ?? null, ['snapshot'], 'snapshot', undefined);
  return Object.freeze({ actions, actor, snapshot });
}
