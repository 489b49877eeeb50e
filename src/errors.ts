/** Errors: one `ActraError` base with a stable `code`, an HTTP `statusCode` where it reaches HTTP. */

/**
 * Every code an {@link ActraError} can carry. A closed union: adding a code is a minor release,
 * renaming or removing one is a major release. The README has a table of all of them.
 */
export type ActraErrorCode =
  /** A schema, policy or governance document failed to compile; see `issues`. */
  | 'ACTRA_COMPILE'
  /** Evaluation input is malformed: not an object, a missing or wrongly typed field a reached rule reads. */
  | 'ACTRA_INPUT'
  /** `assertEffect` saw another outcome than the one expected. */
  | 'ACTRA_ASSERTION'
  /** An option passed to a factory or constructor is invalid. */
  | 'ACTRA_OPTIONS'
  /** The action was blocked (thrown by `admit`). */
  | 'ACTRA_BLOCKED'
  /** The action needs a human approval first (thrown by `admit`). */
  | 'ACTRA_APPROVAL_REQUIRED'
  /** No credentials, or credentials that did not verify. */
  | 'ACTRA_UNAUTHENTICATED'
  /** The actor resolver failed. */
  | 'ACTRA_RESOLVER_FAILED'
  /** A snapshot loader threw or returned a malformed value. */
  | 'ACTRA_LOADER_FAILED'
  /** A snapshot loader did not answer within its timeout. */
  | 'ACTRA_LOADER_TIMEOUT'
  /** The approval store failed (connection lost, query failed). */
  | 'ACTRA_STORE_FAILED'
  /** The engine failed in a way it should not (a bug): the decision fails closed. */
  | 'ACTRA_ENGINE'
  /** No approval visible to this caller has this id. */
  | 'ACTRA_APPROVAL_NOT_FOUND'
  /** A decision contradicts the approval's final decision. */
  | 'ACTRA_APPROVAL_CONFLICT'
  /** The approval expired before it was decided or used. */
  | 'ACTRA_APPROVAL_EXPIRED'
  /** The approval was denied. */
  | 'ACTRA_APPROVAL_DENIED'
  /** The approval was already used once. */
  | 'ACTRA_APPROVAL_CONSUMED'
  /** The approval was granted for another request (digest mismatch). */
  | 'ACTRA_APPROVAL_MISMATCH'
  /** The approval is still waiting for a decision. */
  | 'ACTRA_APPROVAL_PENDING'
  /** The caller may not decide or see this approval (e.g. a requester approving their own request). */
  | 'ACTRA_APPROVAL_FORBIDDEN'
  /** An inbound webhook signature is missing, forged, expired or replayed. */
  | 'ACTRA_WEBHOOK_SIGNATURE'
  /** A request body or route input is malformed (not the policy's action fields). */
  | 'ACTRA_BAD_REQUEST'
  /** A request matched no declared route and the configuration refuses unmatched requests. */
  | 'ACTRA_UNMATCHED_ROUTE'
  /** `waitFor` gave up. */
  | 'ACTRA_TIMEOUT';

/** Base class of every error Actra throws. Messages never contain tokens, claims or snapshot values. */
export class ActraError extends Error {
  readonly code: ActraErrorCode;
  readonly statusCode: number;

  constructor(code: ActraErrorCode, message: string, options?: { statusCode?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.statusCode = options?.statusCode ?? defaultStatus[code];
  }
}

const defaultStatus: Record<ActraErrorCode, number> = {
  ACTRA_COMPILE: 500,
  ACTRA_INPUT: 400,
  ACTRA_ASSERTION: 500,
  ACTRA_OPTIONS: 500,
  ACTRA_BLOCKED: 403,
  ACTRA_APPROVAL_REQUIRED: 202,
  ACTRA_UNAUTHENTICATED: 401,
  ACTRA_RESOLVER_FAILED: 503,
  ACTRA_LOADER_FAILED: 503,
  ACTRA_LOADER_TIMEOUT: 503,
  ACTRA_STORE_FAILED: 503,
  ACTRA_ENGINE: 503,
  ACTRA_APPROVAL_NOT_FOUND: 404,
  ACTRA_APPROVAL_CONFLICT: 409,
  ACTRA_APPROVAL_EXPIRED: 403,
  ACTRA_APPROVAL_DENIED: 403,
  ACTRA_APPROVAL_CONSUMED: 403,
  ACTRA_APPROVAL_MISMATCH: 403,
  ACTRA_APPROVAL_PENDING: 202,
  ACTRA_APPROVAL_FORBIDDEN: 403,
  ACTRA_WEBHOOK_SIGNATURE: 401,
  ACTRA_BAD_REQUEST: 400,
  ACTRA_UNMATCHED_ROUTE: 404,
  ACTRA_TIMEOUT: 504,
};

/** Stable codes of compile issues (one per problem found in a policy directory). */
export type CompileIssueCode =
  | 'YAML_SYNTAX'
  | 'YAML_LIMIT'
  | 'EMPTY_DOCUMENT'
  | 'INVALID_DOCUMENT'
  | 'UNSUPPORTED_VERSION'
  | 'MISSING_KEY'
  | 'UNKNOWN_KEY'
  | 'INVALID_VALUE'
  | 'INVALID_TYPE'
  | 'DUPLICATE_RULE_ID'
  | 'UNKNOWN_ACTION'
  | 'UNKNOWN_DOMAIN'
  | 'UNKNOWN_FIELD'
  | 'ACTION_FIELD_OUT_OF_SCOPE'
  | 'UNKNOWN_OPERATOR'
  | 'TYPE_MISMATCH'
  | 'OPERATOR_NOT_FOR_TYPE'
  | 'AMBIGUOUS_CONDITION'
  | 'EMPTY_CONDITION'
  | 'INVALID_SCOPE'
  | 'INVALID_APPROVAL'
  | 'GOVERNANCE_VIOLATION'
  | 'FILE_NOT_FOUND';

/** One problem found while compiling, with where it is. */
export interface CompileIssue {
  readonly code: CompileIssueCode;
  readonly message: string;
  /** The file as given (a path), or `schema.yaml` / `policy.yaml` / `governance.yaml` for documents given as strings. */
  readonly file: string;
  /** 1-based; 0 when the problem has no position (e.g. a missing file). */
  readonly line: number;
  readonly column: number;
  /** Path of keys inside the document, e.g. `['rules', 2, 'when', 'operator']`. */
  readonly path: readonly (string | number)[];
  /** The policy rule (or governance rule) the problem belongs to, when there is one. */
  readonly ruleId?: string;
}

/** A schema, policy or governance document did not compile. Carries every issue found, at once. */
export class ActraCompileError extends ActraError {
  readonly issues: readonly CompileIssue[];
  constructor(issues: readonly CompileIssue[]) {
    const first = issues[0];
    const head = first ? `${first.file}:${first.line}:${first.column} ${first.code} ${first.message}` : 'unknown problem';
    super('ACTRA_COMPILE', `policy failed to compile with ${issues.length} issue(s); first: ${head}`);
    this.issues = issues;
  }
}

/** The evaluation input is malformed. Names the field and the rule, never the value. */
export class ActraInputError extends ActraError {
  readonly field?: string;
  readonly ruleId?: string;
  constructor(message: string, details?: { field?: string; ruleId?: string }) {
    super('ACTRA_INPUT', message);
    if (details?.field !== undefined) this.field = details.field;
    if (details?.ruleId !== undefined) this.ruleId = details.ruleId;
  }
}

/** Invalid options given to a factory or constructor; thrown at start-up, never per request. */
export class ActraOptionsError extends ActraError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ACTRA_OPTIONS', message, options);
  }
}

/** `assertEffect` saw another outcome. */
export class ActraAssertionError extends ActraError {
  readonly expected: unknown;
  readonly actual: unknown;
  constructor(message: string, expected: unknown, actual: unknown) {
    super('ACTRA_ASSERTION', message);
    this.expected = expected;
    this.actual = actual;
  }
}

/** Credentials missing or invalid (401). `reason` is safe to log; it never holds the token. */
export class ActraAuthError extends ActraError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ACTRA_UNAUTHENTICATED', message, options);
  }
}

/** An actor resolver or snapshot loader failed (503). */
export class ActraResolverError extends ActraError {
  /** The loader's or resolver's name. */
  readonly source: string;
  constructor(code: 'ACTRA_RESOLVER_FAILED' | 'ACTRA_LOADER_FAILED' | 'ACTRA_LOADER_TIMEOUT', source: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.source = source;
  }
}

/** An approval store failed (503). */
export class ActraStoreError extends ActraError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ACTRA_STORE_FAILED', message, options);
  }
}

/** An approval operation was refused; the code says why. */
export class ActraApprovalError extends ActraError {
  constructor(
    code:
      | 'ACTRA_APPROVAL_NOT_FOUND'
      | 'ACTRA_APPROVAL_CONFLICT'
      | 'ACTRA_APPROVAL_EXPIRED'
      | 'ACTRA_APPROVAL_DENIED'
      | 'ACTRA_APPROVAL_CONSUMED'
      | 'ACTRA_APPROVAL_MISMATCH'
      | 'ACTRA_APPROVAL_PENDING'
      | 'ACTRA_APPROVAL_FORBIDDEN'
      | 'ACTRA_WEBHOOK_SIGNATURE'
      | 'ACTRA_TIMEOUT',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** Type guard for any Actra error, optionally of one code. */
export function isActraError(value: unknown, code?: ActraErrorCode): value is ActraError {
  return value instanceof ActraError && (code === undefined || value.code === code);
}
