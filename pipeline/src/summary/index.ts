/** Job-summary (HTML) and PR-comment (markdown) helpers: escaped tables, key/value blocks, sections. */
export * from './table.js';
export * from './markdown.js';
export * from './write.js';
