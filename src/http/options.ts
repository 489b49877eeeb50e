/** Options of the HTTP middleware (`actraMiddleware`, `actraPlugin`), validated once at start-up. */
import { z } from 'zod';
import type { Mode } from '../runtime/types.js';
import { fn, parseOptions } from '../options.js';
import type { NeutralRequest } from './types.js';

/** A pino-compatible logger (only the levels Actra uses). */
export interface HttpLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** Per-route admission: the action plus optional field mapping, mapper and mode. */
export interface RouteGuardOptions {
  /** Action field ← request path (`'body.amount_cents'`, `'params.id'`, `'query.currency'`). */
  readonly fields?: Readonly<Record<string, string>>;
  /** Computes the action fields; the result is limited to the fields the schema declares. */
  readonly mapper?: (req: NeutralRequest) => Readonly<Record<string, unknown>>;
  /** Overrides the global mode for this route. */
  readonly mode?: Mode;
}

/** A route table entry: the action type, or the action with its options. */
export type RouteSpec = string | ({ readonly action: string } & RouteGuardOptions);

/** What the HTTP layer needs of a runtime. `ActraRuntime` satisfies it. */
export interface HttpRuntimeLike {
  check(request: import('../runtime/types.js').CheckRequest<NeutralRequest>): Promise<import('../runtime/types.js').CheckResult>;
  /** `check` answering synchronously when it can (`ActraRuntime.decide`); used instead of `check` when present. */
  decide?(request: import('../runtime/types.js').CheckRequest<NeutralRequest>): import('../runtime/types.js').CheckResult | Promise<import('../runtime/types.js').CheckResult>;
  /** `decide` prepared for one action type (`ActraRuntime.decider`); each guard takes one when present. */
  decider?(actionType: string, check: import('../runtime/runtime.js').CheckMaker<NeutralRequest>): import('../runtime/runtime.js').DecideParts<NeutralRequest>;
  readonly policy: import('../core/types.js').Policy;
}

/** Options shared by every adapter. */
export interface HttpOptions {
  /** Route table: `"POST /refunds/:id": "refund"` or `{ action, fields?, mapper?, mode? }`. Full paths, mount prefixes included. */
  readonly routes?: Readonly<Record<string, RouteSpec>>;
  /** Requests matching no declared route: `allow` (default; unguarded routes are logged at start-up) or `deny` (404 problem). */
  readonly unmatched?: 'allow' | 'deny';
  /** Where the approval status and decision routes are served (default `/actra`). */
  readonly approvalsPrefix?: string;
  /** Default mode for routes that set none (default: the runtime's). */
  readonly mode?: Mode;
  /** Structured logger for start-up notices (pino-compatible). */
  readonly logger?: HttpLogger;
  /** Header the request id is read from and echoed in (default `x-request-id`). */
  readonly requestIdHeader?: string;
  /** `realm` of the `WWW-Authenticate` challenge (default `actra`). */
  readonly realm?: string;
  /** `Retry-After` seconds of a 202 pending approval (default 5). */
  readonly pendingRetryAfter?: number;
  /** `Retry-After` seconds of a 503 (default 5). */
  readonly unavailableRetryAfter?: number;
  /** Largest body Actra reads itself, in bytes (default 1 MiB): approval decisions, Hono bodies. */
  readonly bodyLimit?: number;
  /**
   * Also send `Actra-Decision-Id` and the request id header on **allowed** responses (default
   * false: the handler has both in the decision; Actra's own 403, 202 and problem responses always
   * carry them, and warn mode always adds `Actra-Warning`).
   */
  readonly decisionHeaders?: boolean;
}

const mode = z.enum(['enforce', 'monitor', 'warn']);
const guardOptions = {
  fields: z.record(z.string(), z.string()).optional(),
  mapper: fn<(req: NeutralRequest) => Readonly<Record<string, unknown>>>().optional(),
  mode: mode.optional(),
};

const routeSpec = z.union([z.string().min(1), z.strictObject({ action: z.string().min(1), ...guardOptions })]);

const httpSchema = z.object({
  routes: z.record(z.string(), routeSpec).optional(),
  unmatched: z.enum(['allow', 'deny']).default('allow'),
  approvalsPrefix: z
    .string()
    .regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'must be a path such as /actra (no trailing slash)')
    .default('/actra'),
  mode: mode.optional(),
  logger: z
    .custom<HttpLogger>(function isLogger(value) {
      return typeof value === 'object' && value !== null && typeof (value as HttpLogger).info === 'function' && typeof (value as HttpLogger).warn === 'function';
    }, { message: 'must have info() and warn() methods' })
    .optional(),
  requestIdHeader: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, 'must be a header name')
    .transform(function lower(value) {
      return value.toLowerCase();
    })
    .default('x-request-id'),
  realm: z.string().regex(/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/, 'must be printable ASCII without quotes or backslashes').default('actra'),
  pendingRetryAfter: z.number().int().positive().default(5),
  unavailableRetryAfter: z.number().int().positive().default(5),
  bodyLimit: z.number().int().positive().default(1024 * 1024),
  decisionHeaders: z.boolean().default(false),
});

/** Options after validation, defaults applied. */
export type ResolvedHttpOptions = z.output<typeof httpSchema>;

/** Guard options accepted by `guard(action, options)`. */
export const guardOptionsSchema = z.strictObject(guardOptions);

/**
 * Validates the HTTP part of the options.
 * @throws ActraOptionsError (`ACTRA_OPTIONS`) naming the option.
 */
export function parseHttpOptions(options: HttpOptions, owner: string): ResolvedHttpOptions {
  return parseOptions(httpSchema, options, owner);
}
