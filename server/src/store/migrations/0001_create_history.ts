import type { Migration } from './index.js';

// Kept as a TypeScript string rather than a .sql file so it is part of the compiled output
// (tsc copies no .sql files into dist/, a bundler would drop them too): one source, found the
// same way under tsx and from dist.
export const migration: Migration = {
  version: 1,
  name: 'create_history',
  sql: `
CREATE TABLE history (
  topic        text        NOT NULL,
  epoch        text        NOT NULL,
  "offset"     bigint      NOT NULL CHECK ("offset" > 0),
  event        text        NOT NULL,
  -- json, not jsonb: a recovered message must be byte-for-byte what was published (key order, numbers).
  payload      json        NOT NULL,
  -- true: payload is the base64 text of a binary push (Publication.binary).
  is_binary    boolean     NOT NULL DEFAULT false,
  origin       text        NOT NULL,
  published_at timestamptz NOT NULL,
  traceparent  text,
  PRIMARY KEY (topic, epoch, "offset")
);
-- Age retention deletes by published_at.
CREATE INDEX history_published_at_idx ON history (published_at);
`,
};
