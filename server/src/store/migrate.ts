// Applies the history schema migrations to PostgreSQL.
//
// As a command:  DATABASE_URL=postgres://... npm run migrate
//                (node --import tsx server/src/store/migrate.ts, or node server/dist/store/migrate.js)
// From code:     await migrate(pool)   (the server does this at start-up unless MIGRATE_ON_START=false)
//
// Steps: take a session advisory lock (so concurrent runs, e.g. several replicas starting at once,
// apply each migration exactly once), create schema_migrations if missing, then apply every
// migration newer than the recorded ones, each in its own transaction with its version row.
import pg from 'pg';
import { migrations as allMigrations, type Migration } from './migrations/index.js';
import { isEntryPoint } from '../entry-point.js';

/** Key of the advisory lock every migrate() run holds ("sbmigrat" as a 64-bit integer). */
export const MIGRATION_LOCK_KEY = '8314328161553899892';

/** What a migrate() run did. */
export interface MigrationResult {
  /** Versions applied by this run, in order (empty when the schema was up to date). */
  applied: number[];
  /** Highest version recorded after the run. */
  version: number;
}

/** Thrown when a migration fails; names the migration. Nothing of that migration is left behind. */
export class MigrationError extends Error {
  readonly code = 'ERR_MIGRATION';
}

/**
 * Brings the database to the newest schema. Safe to call concurrently and repeatedly. Waits at most
 * `lockTimeoutMs` (default 60 s) for another run holding the migration lock.
 */
export async function migrate(
  pool: pg.Pool,
  opts: { migrations?: readonly Migration[]; lockTimeoutMs?: number } = {},
): Promise<MigrationResult> {
  const list = [...(opts.migrations ?? allMigrations)].sort((a, b) => a.version - b.version);
  const client = await pool.connect();
  let locked = false;
  try {
    await client.query(`SELECT set_config('lock_timeout', $1, false)`, [`${opts.lockTimeoutMs ?? 60_000}ms`]);
    await client.query('SELECT pg_advisory_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    locked = true;
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version    integer     PRIMARY KEY,
      name       text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of list) {
      if (done.has(m.version)) continue;
      try {
        await client.query('BEGIN');
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          m.version,
          m.name,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new MigrationError(
          `migration ${String(m.version).padStart(4, '0')}_${m.name} failed and was rolled back: ${(err as Error).message}`,
          { cause: err },
        );
      }
      applied.push(m.version);
      done.add(m.version);
    }
    return { applied, version: Math.max(0, ...done) };
  } finally {
    if (locked)
      await client
        .query('SELECT pg_advisory_unlock($1::bigint)', [MIGRATION_LOCK_KEY])
        .catch(() => undefined);
    await client.query('RESET lock_timeout').catch(() => undefined);
    client.release();
  }
}

/** The command: reads DATABASE_URL, migrates, prints one line; exit code 1 with the reason on failure. */
async function main(): Promise<void> {
  const url = process.env.DATABASE_URL?.trim();
  if (!url) {
    throw new Error('DATABASE_URL is not set: set it to postgres://user:password@host:5432/database');
  }
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 10_000 });
  pool.on('error', () => undefined);
  try {
    const result = await migrate(pool);
    console.log(
      result.applied.length > 0
        ? `applied migrations ${result.applied.join(', ')}; schema version ${result.version}`
        : `schema up to date (version ${result.version})`,
    );
  } finally {
    await pool.end();
  }
}

if (isEntryPoint(import.meta.url)) {
  main().catch((err: Error) => {
    console.error(`migrate: ${err.message}`);
    process.exit(1);
  });
}
