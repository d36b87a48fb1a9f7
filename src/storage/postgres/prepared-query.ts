/**
 * A named statement run without asking for its row shape again. pg's Query describes the portal
 * at every execution (a Describe, answered by a RowDescription whose fields it parses and whose
 * row parsers it builds again) and copies its config object first. A named statement's shape is
 * fixed on its connection once parsed, so this query asks once per connection and statement, and
 * afterwards binds and executes only, reusing the parsers. In a CPU profile of benchmark (a) on
 * PostgreSQL those steps took 318 ms of relevo's 6,370 ms busy, about 25 µs a request: addFields
 * 152 ms, parseRowDescriptionMessage 38 ms, cloneQueryConfig 128 ms (docs/performance.md).
 *
 * It relies on pg.Query's own fields (pg 8.23: `_result`, `_accumulateRows`, `prepare`,
 * `hasBeenParsed`, `_getRows`), which test/postgres/prepared-query.test.ts holds to. package.json
 * pins pg to that version; should another pg be installed anyway, `pgInternalsFit` finds out at
 * start-up and the executor runs pg's own Query instead (slower, the same results).
 */
import pg from 'pg';

/** What a RowDescription gave a Result: reused for every later execution on the connection. */
interface RowShape {
  readonly fields: unknown[];
  readonly parsers: unknown[] | undefined;
  readonly empty: unknown;
}

/** The parts of pg's Result this query sets and reads. */
interface ResultParts {
  fields: unknown[];
  _parsers: unknown[] | undefined;
  _prebuiltEmptyResultObject: unknown;
}

/** The parts of pg's protocol connection this query calls. */
interface Wire {
  bind(o: {
    portal: string;
    statement: string;
    values: unknown[];
    binary: boolean | undefined;
    valueMapper: unknown;
  }): void;
  close(o: { type: 'S'; name: string }): void;
  sync(): void;
}

/** pg.Query as this class sees it: its fields and methods used here. */
interface QueryParts extends pg.Submittable {
  name: string | undefined;
  values: unknown[];
  portal: string;
  binary: boolean | undefined;
  rows: number | undefined;
  callback: ((err: Error | null, r?: pg.QueryResult) => void) | undefined;
  _rowMode: string | undefined;
  _result: ResultParts;
  _results: unknown;
  _accumulateRows: boolean;
  hasBeenParsed(connection: Wire): boolean;
  prepare(connection: Wire): void;
  handleRowDescription(msg: unknown): void;
  handleCommandComplete(msg: unknown, connection: Wire): void;
  handleError(err: unknown, connection: Wire): void;
  _getRows(connection: Wire, rows: number | undefined): void;
}

type QueryClass = new (text: string, values: unknown[]) => QueryParts;
const Base = pg.Query as unknown as QueryClass;
const ResultClass = pg.Result as unknown as new (rowMode: string) => ResultParts;
const prepareValue = (pg as unknown as { utils: { prepareValue: unknown } }).utils.prepareValue;

/** The methods of pg.Query this class overrides or calls. */
const QUERY_METHODS = [
  'prepare',
  'hasBeenParsed',
  '_getRows',
  'handleRowDescription',
  'handleCommandComplete',
  'handleError',
] as const;
/** The fields of pg.Query and pg.Result this class sets or reads. */
const QUERY_FIELDS = ['_result', '_results', '_rowMode', 'portal', 'callback'] as const;
const RESULT_FIELDS = ['fields', '_parsers', '_prebuiltEmptyResultObject'] as const;

/**
 * Whether a pg's Query and Result have the parts PreparedQuery uses (pg 8.23's). Their own
 * instances are looked at, so a field renamed or dropped by another version is found here.
 */
export function pgInternalsFit(query: unknown, result: unknown, valueMapper: unknown): boolean {
  if (typeof query !== 'function' || typeof result !== 'function' || typeof valueMapper !== 'function') {
    return false;
  }
  try {
    const proto = (query as { prototype: Record<string, unknown> }).prototype;
    if (!QUERY_METHODS.every((m) => typeof proto[m] === 'function')) return false;
    const q = new (query as new (text: string, values: unknown[]) => object)('SELECT 1', []);
    if (!QUERY_FIELDS.every((f) => f in q)) return false;
    const r = new (result as new (rowMode: string) => object)('array');
    return RESULT_FIELDS.every((f) => f in r);
  } catch {
    return false;
  }
}

/** Whether the installed pg is one PreparedQuery fits (checked once, when this module loads). */
export const PREPARED_QUERY_FITS = pgInternalsFit(pg.Query, pg.Result, prepareValue);

/** Row shapes by connection (a named statement is its session's), then by statement name. */
const shapes = new WeakMap<Wire, Map<string, RowShape>>();

export class PreparedQuery extends Base {
  /** Resolves with the result, rejects with the statement's error. */
  readonly done: Promise<pg.QueryResult>;
  private wire: Wire | undefined;
  /** The shape of this execution's rows is known (told by the server, or remembered). */
  private shaped = false;

  constructor(name: string, text: string, values: unknown[], rowMode: 'array' | undefined) {
    // The text as a string: pg copies a config object's properties, not a string.
    super(text, values);
    this.name = name;
    if (rowMode !== undefined) {
      this._rowMode = rowMode;
      this._result = new ResultClass(rowMode);
      this._results = this._result;
    }
    this.done = new Promise((resolve, reject) => {
      this.callback = (err, r) => (err ? reject(err) : resolve(r as pg.QueryResult));
    });
  }

  override prepare(connection: Wire): void {
    this.wire = connection;
    const name = this.name as string;
    const shape = this.hasBeenParsed(connection) ? shapes.get(connection)?.get(name) : undefined;
    if (shape === undefined) {
      super.prepare(connection);
      return;
    }
    try {
      connection.bind({
        portal: this.portal,
        statement: name,
        values: this.values,
        binary: this.binary,
        valueMapper: prepareValue,
      });
    } catch (err) {
      // As pg does: a value that cannot be sent fails this query, before anything executes.
      connection.close({ type: 'S', name });
      connection.sync();
      this.handleError(err, connection);
      return;
    }
    const r = this._result;
    r.fields = shape.fields;
    r._parsers = shape.parsers;
    r._prebuiltEmptyResultObject = shape.empty;
    // What handleRowDescription sets for a query with a callback: its rows are kept.
    this._accumulateRows = true;
    this.shaped = true;
    this._getRows(connection, this.rows);
  }

  override handleRowDescription(msg: unknown): void {
    super.handleRowDescription(msg);
    this.shaped = true;
    const r = this._result;
    this.remember({ fields: r.fields, parsers: r._parsers, empty: r._prebuiltEmptyResultObject });
  }

  override handleCommandComplete(msg: unknown, connection: Wire): void {
    // Described, and no RowDescription came before the end: the statement returns no rows.
    if (!this.shaped) this.remember({ fields: [], parsers: undefined, empty: {} });
    this.shaped = true;
    super.handleCommandComplete(msg, connection);
  }

  override handleError(err: unknown, connection: Wire): void {
    // pg forgets a failed named statement and parses it again next time; so is its shape.
    if (this.wire !== undefined) shapes.get(this.wire)?.delete(this.name as string);
    super.handleError(err, connection);
  }

  private remember(shape: RowShape): void {
    const wire = this.wire;
    if (wire === undefined) return;
    let byName = shapes.get(wire);
    if (byName === undefined) {
      byName = new Map();
      shapes.set(wire, byName);
    }
    byName.set(this.name as string, shape);
  }
}
