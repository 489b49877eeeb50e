/** Entry points: compile schema + policy (+ governance) from strings, files or a directory. */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ActraCompileError } from '../errors.js';
import type { CompileIssue } from '../errors.js';
import type { Policy } from './types.js';
import { IssueSink, MAX_DOCUMENT_BYTES, parseSource } from './parse.js';
import type { Source, YamlReader } from './parse.js';
import { readSchema } from './schema.js';
import { readPolicy } from './rules.js';
import { checkGovernance, readGovernance } from './governance.js';
import { policyHashOf } from './hash.js';
import { CompiledPolicy } from './policy.js';

export type { Source } from './parse.js';

/** The outcome of compiling: a policy when there were no issues, and every issue found. */
export interface CompileResult {
  readonly policy?: Policy;
  readonly issues: CompileIssue[];
}

/**
 * Compiles schema + policy (+ governance) documents. Never throws for problems in the documents:
 * they are all returned as issues (with file, line, column, path, rule id and code), at once.
 * @example
 * const { policy, issues } = compileSources({ schema: { text, file: 'schema.yaml' }, policy: { text: p, file: 'policy.yaml' } });
 */
export function compileSources(sources: { schema: Source; policy: Source; governance?: Source }): CompileResult {
  return compileAvailable(sources);
}

/**
 * Compiles with a chosen YAML reader (internal: tests compare the two readers); `fast` tells
 * whether the fast reader parsed any of the documents. A missing source (a file that could not be
 * read) is skipped; the others are still checked, as far as they can be without it.
 * @internal
 */
export function compileWith(sources: { schema?: Source; policy?: Source; governance?: Source }, reader: YamlReader): { result: CompileResult; fast: boolean } {
  const sink = new IssueSink();
  const schemaFile = sources.schema === undefined ? undefined : parseSource(sources.schema, sink, reader);
  // Without a schema (unreadable, empty, not a mapping) the policy and governance are still read for
  // their structure, so that every problem is reported at once; no policy comes out of it.
  const schema = schemaFile === undefined ? undefined : readSchema(schemaFile);
  const policyFile = sources.policy === undefined ? undefined : parseSource(sources.policy, sink, reader);
  const read = policyFile === undefined ? undefined : readPolicy(policyFile, schema);
  let governance: ReturnType<typeof readGovernance>;
  let governanceFast = false;
  if (sources.governance !== undefined) {
    const governanceFile = parseSource(sources.governance, sink, reader);
    governanceFast = governanceFile?.fast === true;
    if (governanceFile !== undefined) {
      const before = sink.issues.length;
      governance = readGovernance(governanceFile, schema);
      // A governance document with any problem is not applied (its selections could be wrong), nor is
      // one checked against rules read without a schema (their scopes could not be checked).
      if (sink.issues.length > before) governance = undefined;
      if (governance !== undefined && read !== undefined && schema !== undefined) checkGovernance(governanceFile, governance, read.rules);
    }
  }
  const issues = sink.issues;
  const fast = schemaFile?.fast === true || policyFile?.fast === true || governanceFast;
  if (issues.length > 0 || schema === undefined || read?.policy === undefined) return { result: { issues }, fast };
  if (sources.governance !== undefined && governance === undefined) return { result: { issues }, fast };
  const hash = policyHashOf(schema, read.policy, governance);
  return { result: { policy: new CompiledPolicy(schema, read.policy, hash), issues }, fast };
}

/** `compileSources` for sources that may be missing (files that could not be read). */
function compileAvailable(sources: { schema?: Source; policy?: Source; governance?: Source }): CompileResult {
  const first = compileWith(sources, 'fast');
  // Issue positions come from the library: a compile with any issue is redone on the library's parse alone.
  return first.result.issues.length > 0 && first.fast ? compileWith(sources, 'library').result : first.result;
}

/** Reads a file as a source, or records FILE_NOT_FOUND / YAML_LIMIT. */
function readSource(path: string, sink: IssueSink): Source | undefined {
  try {
    const stat = statSync(path);
    if (!stat.isFile()) {
      sink.add('FILE_NOT_FOUND', `${path} is not a file`, path, 0, 0, []);
      return undefined;
    }
    if (stat.size > MAX_DOCUMENT_BYTES) {
      sink.add('YAML_LIMIT', `document is larger than ${MAX_DOCUMENT_BYTES} bytes`, path, 1, 1, []);
      return undefined;
    }
    return { text: readFileSync(path, 'utf8'), file: path };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    sink.add('FILE_NOT_FOUND', code === 'ENOENT' ? `${path} does not exist` : `${path} cannot be read`, path, 0, 0, []);
    return undefined;
  }
}

function compilePaths(schemaPath: string, policyPath: string, governancePath: string | undefined, optionalGovernance: boolean): CompileResult {
  const sink = new IssueSink();
  const schema = readSource(schemaPath, sink);
  const policy = readSource(policyPath, sink);
  let governance: Source | undefined;
  if (governancePath !== undefined) {
    let exists = true;
    if (optionalGovernance) {
      try {
        statSync(governancePath);
      } catch {
        exists = false;
      }
    }
    if (exists) governance = readSource(governancePath, sink);
  }
  if (sink.issues.length === 0 && schema !== undefined && policy !== undefined) {
    return compileSources(governance === undefined ? { schema, policy } : { schema, policy, governance });
  }
  // A file could not be read: still check the ones that could, so that every problem shows at once.
  const available: { schema?: Source; policy?: Source; governance?: Source } = {};
  if (schema !== undefined) available.schema = schema;
  if (policy !== undefined) available.policy = policy;
  if (governance !== undefined) available.governance = governance;
  return { issues: [...sink.issues, ...compileAvailable(available).issues] };
}

/**
 * Compiles a policy directory: `schema.yaml`, `policy.yaml` and, when present, `governance.yaml`.
 * A missing schema or policy file is a FILE_NOT_FOUND issue. Never throws for document problems.
 */
export function checkDirectory(dir: string): CompileResult {
  return compilePaths(join(dir, 'schema.yaml'), join(dir, 'policy.yaml'), join(dir, 'governance.yaml'), true);
}

function orThrow(result: CompileResult): Policy {
  if (result.policy === undefined) throw new ActraCompileError(result.issues);
  return result.policy;
}

/** Compiles Actra policies. Names follow Actra's SDK. */
export class Actra {
  private constructor() {}

  /**
   * Compiles a policy from YAML strings. Issues name the files `schema.yaml`, `policy.yaml`, `governance.yaml`.
   * @throws ActraCompileError (`ACTRA_COMPILE`) with every issue found.
   * @example
   * const policy = Actra.fromStrings(schemaYaml, policyYaml);
   * policy.evaluate({ action: { type: 'refund', amount: 4900 }, actor: { role: 'agent' }, snapshot: {} });
   */
  static fromStrings(schema: string, policy: string, governance?: string): Policy {
    const sources = { schema: { text: schema, file: 'schema.yaml' }, policy: { text: policy, file: 'policy.yaml' } };
    return orThrow(compileSources(governance === undefined ? sources : { ...sources, governance: { text: governance, file: 'governance.yaml' } }));
  }

  /**
   * Compiles a policy from files (issues name the paths as given).
   * @throws ActraCompileError (`ACTRA_COMPILE`) with every issue found, including FILE_NOT_FOUND.
   */
  static fromFiles(schemaPath: string, policyPath: string, governancePath?: string): Policy {
    return orThrow(compilePaths(schemaPath, policyPath, governancePath, false));
  }

  /**
   * Compiles a policy directory (`schema.yaml`, `policy.yaml`, optional `governance.yaml`).
   * @throws ActraCompileError (`ACTRA_COMPILE`) with every issue found.
   * @example
   * const policy = Actra.fromDirectory('./policies/refunds');
   */
  static fromDirectory(dir: string): Policy {
    return orThrow(checkDirectory(dir));
  }
}
