/** The framework-neutral request and response shapes that adapters translate to and from. */

/** A request as an adapter hands it to Actra. */
export interface NeutralRequest {
  /** Upper-case method as received (`HEAD` is normalised to `GET` by Actra, not by the adapter). */
  readonly method: string;
  /** The full path as received, without the query string, percent-encoding untouched. */
  readonly path: string;
  /** The framework's matched route pattern including any mount prefix (`/api/refunds/:id`), when known. */
  readonly routePattern?: string;
  readonly params: Readonly<Record<string, string>>;
  /**
   * Optional: `false` when the route certainly has no param `name`, so that building the action need
   * not read `params` (which Hono decodes in full on first read). Absent, or `true`: `params` is read.
   */
  mayHaveParam?(name: string): boolean;
  readonly query: Readonly<Record<string, unknown>>;
  /**
   * The parsed body (a JSON object); `undefined` when there is none; the body as read (a string,
   * a buffer) when it is not JSON; `UNPARSED_BODY` when a body was sent that no parser read.
   * Actions that read the body refuse all but a JSON object or no body.
   */
  readonly body: unknown;
  /** The raw body text, when the adapter has it (needed to verify inbound webhook signatures). */
  readonly rawBody?: string | undefined;
  /** Case-insensitive header lookup; the first value when repeated. */
  header(name: string): string | undefined;
}

/** What Actra asks the adapter to send. `body` is JSON-serialised with the given content type. */
export interface NeutralResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
}
