/**
 * Fills a migrated relevo database with history, directly in SQL and in one transaction: seed bots
 * and end users of the benchmark project, their rooms, `conversations` closed conversations (ten
 * per room) and their two events each (start and close, recorded but not sent: the project has no
 * integration). Rows match the schema of the real migrations, which have already run; ids have
 * relevo's shape (`prefix_` + 26 characters) and sort before any id relevo mints now, as older
 * rows would.
 *
 * The generation runs inside the database (a recursive CTE in SQLite, generate_series in
 * PostgreSQL), so a million conversations take seconds rather than minutes.
 */
import Database from 'better-sqlite3';
import pg from 'pg';

export const CONVERSATIONS_PER_ROOM = 10;
export const SEED_BOTS = 10;

export interface SeedPlan {
  readonly projectId: string;
  readonly conversations: number;
}

export interface SeedCounts {
  readonly bots: number;
  readonly users: number;
  readonly rooms: number;
  readonly conversations: number;
  readonly events: number;
  readonly seconds: number;
}

function shape(plan: SeedPlan) {
  const rooms = Math.ceil(plan.conversations / CONVERSATIONS_PER_ROOM);
  const users = Math.ceil(rooms / SEED_BOTS);
  return {
    p: plan.projectId,
    bots: SEED_BOTS,
    users,
    rooms: users * SEED_BOTS,
    conversations: plan.conversations,
    events: plan.conversations * 2,
    cpr: CONVERSATIONS_PER_ROOM,
    lastSeq: CONVERSATIONS_PER_ROOM * 2,
    // Three months ago; each conversation 5 ms after the previous one.
    t0: Date.now() - 90 * 24 * 3_600_000,
  };
}

/** A series 0..n-1 as a SQLite CTE named n(i). */
const series = (bound: string) =>
  `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ${bound})`;

export function seedSqlite(path: string, plan: SeedPlan): SeedCounts {
  const s = shape(plan);
  const began = performance.now();
  const db = new Database(path);
  try {
    // Bulk load: no WAL copy of every page and no fsync; relevo reopens the file in WAL mode.
    db.pragma('journal_mode = DELETE');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    const bot = (expr: string) => `printf('bot_00%024d', ${expr})`;
    const usr = (expr: string) => `printf('usr_00%024d', ${expr})`;
    const room = (expr: string) => `printf('room_00%024d', ${expr})`;
    const conv = (expr: string) => `printf('conv_00%024d', ${expr})`;
    const statements = [
      `${series('@bots')} INSERT INTO bots (id, project_id, name, channel, created_at)
        SELECT ${bot('i')}, @p, 'Seed bot ' || i, 'webchat', @t0 FROM n`,
      `${series('@users')} INSERT INTO end_users (id, project_id, names, reference_id, created_at)
        SELECT ${usr('i')}, @p, 'Seed user ' || i, NULL, @t0 FROM n`,
      `${series('@rooms')} INSERT INTO rooms (id, project_id, bot_id, user_id, last_seq, created_at)
        SELECT ${room('i')}, @p, ${bot('i / @users')}, ${usr('i % @users')}, @lastSeq, @t0 FROM n`,
      `${series('@conversations')} INSERT INTO conversations
          (id, project_id, room_id, bot_id, user_id, state, assignment, metadata, start_at, end_at, ended_reason)
        SELECT ${conv('i')}, @p, ${room('i / @cpr')}, ${bot('(i / @cpr) / @users')}, ${usr('(i / @cpr) % @users')},
          'closed', '{"type":"queue","target":"SUPPORT"}', json_object('ticketId', 'T-' || i),
          @t0 + i * 5, @t0 + i * 5 + 60000, 'closed_by_operator' FROM n`,
      `${series('@events')} INSERT INTO events
          (id, project_id, room_id, room_seq, conversation_id, destination, type, payload, created_at, status,
           attempt_count, next_attempt_at, delivered_at)
        SELECT printf('evt_00%024d', i), @p, ${room('(i / 2) / @cpr')}, ((i / 2) % @cpr) * 2 + (i % 2) + 1,
          ${conv('i / 2')}, 'panel', CASE i % 2 WHEN 0 THEN 'conversation.start' ELSE 'conversation.close' END,
          CASE i % 2 WHEN 0 THEN json_object(
            'event', 'conversation.start', 'timestamp', @t0 + (i / 2) * 5, 'field', 'conversation',
            'object', 'conversation_event', 'event_type', 'start', 'project_id', @p,
            'room_id', ${room('(i / 2) / @cpr')},
            'contact', json_object('id', ${usr('((i / 2) / @cpr) % @users')}, 'name', 'Seed user ' || (((i / 2) / @cpr) % @users)),
            'conversation', json_object('id', ${conv('i / 2')}, 'assignment', json_object('type', 'queue', 'target', 'SUPPORT')),
            'bot', json_object('id', ${bot('((i / 2) / @cpr) / @users')}, 'name', 'Seed bot ' || (((i / 2) / @cpr) / @users)),
            'value', json_object('metadata', json_object('ticketId', 'T-' || (i / 2))))
          ELSE json_object(
            'event', 'conversation.close', 'timestamp', @t0 + (i / 2) * 5 + 60000, 'field', 'conversation',
            'object', 'conversation_event', 'event_type', 'close', 'project_id', @p,
            'room_id', ${room('(i / 2) / @cpr')},
            'contact', json_object('id', ${usr('((i / 2) / @cpr) % @users')}, 'name', 'Seed user ' || (((i / 2) / @cpr) % @users)),
            'conversation', json_object('id', ${conv('i / 2')}),
            'bot', json_object('id', ${bot('((i / 2) / @cpr) / @users')}, 'name', 'Seed bot ' || (((i / 2) / @cpr) / @users)),
            'value', json_object('reason', 'closed_by_operator'))
          END,
          @t0 + (i / 2) * 5 + (i % 2) * 60000, 'skipped', 0, NULL, NULL FROM n`,
    ];
    db.transaction(() => {
      for (const sql of statements) {
        const st = db.prepare(sql);
        const names = new Set([...sql.matchAll(/@(\w+)/g)].map((m) => m[1] as string));
        // BigInt binds as INTEGER, so `/` stays integer division.
        const params = Object.fromEntries(
          Object.entries(s)
            .filter(([k]) => names.has(k))
            .map(([k, v]) => [k, typeof v === 'number' ? BigInt(v) : v]),
        );
        st.run(params);
      }
    })();
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
  return {
    bots: s.bots,
    users: s.users,
    rooms: s.rooms,
    conversations: s.conversations,
    events: s.events,
    seconds: (performance.now() - began) / 1000,
  };
}

export async function seedPostgres(url: string, plan: SeedPlan): Promise<SeedCounts> {
  const s = shape(plan);
  const began = performance.now();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const id = (prefix: string, expr: string) => `'${prefix}_00' || lpad((${expr})::text, 24, '0')`;
  const bot = (expr: string) => id('bot', expr);
  const usr = (expr: string) => id('usr', expr);
  const room = (expr: string) => id('room', expr);
  const conv = (expr: string) => id('conv', expr);
  // In the events statement: $1 project, $2 t0, $3 conversations per room, $4 users, $5 events.
  const c = '(e.i / 2)';
  const r = `(${c} / $3)`;
  const statements: Array<[string, unknown[]]> = [
    [
      `INSERT INTO bots (id, project_id, name, channel, created_at)
        SELECT ${bot('i')}, $1, 'Seed bot ' || i, 'webchat', $2 FROM generate_series(0, $3::bigint - 1) AS i`,
      [s.p, s.t0, s.bots],
    ],
    [
      `INSERT INTO end_users (id, project_id, names, reference_id, created_at)
        SELECT ${usr('i')}, $1, 'Seed user ' || i, NULL, $2 FROM generate_series(0, $3::bigint - 1) AS i`,
      [s.p, s.t0, s.users],
    ],
    [
      `INSERT INTO rooms (id, project_id, bot_id, user_id, last_seq, created_at)
        SELECT ${room('i')}, $1, ${bot('i / $3')}, ${usr('i % $3')}, $4, $2
        FROM generate_series(0, $5::bigint - 1) AS i`,
      [s.p, s.t0, s.users, s.lastSeq, s.rooms],
    ],
    [
      `INSERT INTO conversations
          (id, project_id, room_id, bot_id, user_id, state, assignment, metadata, start_at, end_at, ended_reason)
        SELECT ${conv('i')}, $1, ${room('i / $3')}, ${bot('(i / $3) / $4')}, ${usr('(i / $3) % $4')}, 'closed',
          '{"type":"queue","target":"SUPPORT"}', json_build_object('ticketId', 'T-' || i)::text,
          $2 + i * 5, $2 + i * 5 + 60000, 'closed_by_operator'
        FROM generate_series(0, $5::bigint - 1) AS i`,
      [s.p, s.t0, s.cpr, s.users, s.conversations],
    ],
    [
      `INSERT INTO events
          (id, project_id, room_id, room_seq, conversation_id, destination, type, payload, created_at, status,
           attempt_count, next_attempt_at, delivered_at)
        SELECT ${id('evt', 'e.i')}, $1, ${room(r)}, (${c} % $3) * 2 + (e.i % 2) + 1, ${conv(c)}, 'panel',
          CASE e.i % 2 WHEN 0 THEN 'conversation.start' ELSE 'conversation.close' END,
          CASE e.i % 2 WHEN 0 THEN json_build_object(
            'event', 'conversation.start', 'timestamp', $2 + ${c} * 5, 'field', 'conversation',
            'object', 'conversation_event', 'event_type', 'start', 'project_id', $1::text, 'room_id', ${room(r)},
            'contact', json_build_object('id', ${usr(`${r} % $4`)}, 'name', 'Seed user ' || (${r} % $4)),
            'conversation', json_build_object('id', ${conv(c)}, 'assignment', json_build_object('type', 'queue', 'target', 'SUPPORT')),
            'bot', json_build_object('id', ${bot(`${r} / $4`)}, 'name', 'Seed bot ' || (${r} / $4)),
            'value', json_build_object('metadata', json_build_object('ticketId', 'T-' || ${c})))::text
          ELSE json_build_object(
            'event', 'conversation.close', 'timestamp', $2 + ${c} * 5 + 60000, 'field', 'conversation',
            'object', 'conversation_event', 'event_type', 'close', 'project_id', $1::text, 'room_id', ${room(r)},
            'contact', json_build_object('id', ${usr(`${r} % $4`)}, 'name', 'Seed user ' || (${r} % $4)),
            'conversation', json_build_object('id', ${conv(c)}),
            'bot', json_build_object('id', ${bot(`${r} / $4`)}, 'name', 'Seed bot ' || (${r} / $4)),
            'value', json_build_object('reason', 'closed_by_operator'))::text
          END,
          $2 + ${c} * 5 + (e.i % 2) * 60000, 'skipped', 0, NULL, NULL
        FROM generate_series(0, $5::bigint - 1) AS e(i)`,
      [s.p, s.t0, s.cpr, s.users, s.events],
    ],
  ];
  try {
    await client.query('BEGIN');
    // Test clusters run without fsync anyway; this only spares the WAL flushes of the load.
    await client.query('SET LOCAL synchronous_commit = off');
    for (const [sql, params] of statements) await client.query(sql, params);
    await client.query('COMMIT');
    // What autovacuum would do soon after such a load; without it the planner sees empty tables.
    await client.query('ANALYZE');
  } finally {
    await client.end();
  }
  return {
    bots: s.bots,
    users: s.users,
    rooms: s.rooms,
    conversations: s.conversations,
    events: s.events,
    seconds: (performance.now() - began) / 1000,
  };
}
