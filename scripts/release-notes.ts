#!/usr/bin/env -S npx tsx
// Release notes and tag facts for .github/workflows/release.yml, from the repository's git history:
//   1. checks the version is vX.Y.Z
//   2. finds the previous release: the highest vX.Y.Z tag below the version (the moving v1 is not one)
//   3. lists the commits since then, oldest last (`git log previous..to`, merges left out), as markdown
//   4. says whether the version is the newest of its major line (only then does the major tag move)
//   prints the notes; with --github-output <file> also appends version, major, previous, sha,
//   move-major and notes to it for later jobs.
import { appendFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs as parseNodeArgs } from 'node:util';
import { $, run } from './lib/zx.js';

const usage = `Usage: npm run release:notes -- --version vX.Y.Z [--to <rev>] [--repo <dir>] [--github-output <file>]

  --version <v>          the release, vX.Y.Z
  --to <rev>             the commit released (default: the tag <version> if it exists, else HEAD)
  --repo <dir>           git repository (default: the current directory)
  --github-output <file> append the results as step outputs (GITHUB_OUTPUT)
  -h, --help             this text`;

const SEMVER = /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;
/** The most commits the notes list; the rest is a count (the body of a release is limited to 125,000 characters). */
const MAX_COMMITS = 500;

type Version = [number, number, number];

/** [major, minor, patch] of a vX.Y.Z tag, or undefined. */
export function parseVersion(tag: string): Version | undefined {
  const m = SEMVER.exec(tag);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function compare(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** What the release workflow needs to know about one version. */
export interface ReleasePlan {
  version: string;
  /** The moving tag of the version's line, e.g. v1. */
  major: string;
  /** The release before this one, or undefined for the first. */
  previous?: string;
  /** The commit released. */
  sha: string;
  /** true when no release of the same major is newer: the major tag moves to this one. */
  moveMajor: boolean;
  notes: string;
}

/** Runs git in `repo`; a failure names the git command, its exit code and git's message. */
async function git(repo: string, ...args: string[]): Promise<string> {
  return (await run($`git -C ${repo} ${args}`)).stdout.trim();
}

/** Plans the release of `version` at `to` (default: the tag, else HEAD) in `repo`. */
export async function planRelease(repo: string, version: string, to?: string): Promise<ReleasePlan> {
  const parsed = parseVersion(version);
  if (!parsed) throw new Error(`version: "${version}" is not vX.Y.Z (e.g. v1.2.3)`);
  const tags = (await git(repo, 'tag', '--list', 'v*')).split('\n').flatMap((t) => {
    const v = parseVersion(t);
    return v ? [{ tag: t, v }] : [];
  });
  const target = to ?? (tags.some((t) => t.tag === version) ? version : 'HEAD');
  const sha = await git(repo, 'rev-parse', '--verify', `${target}^{commit}`);
  const older = tags.filter((t) => compare(t.v, parsed) < 0).sort((a, b) => compare(b.v, a.v));
  const previous = older[0]?.tag;
  const moveMajor = !tags.some((t) => t.v[0] === parsed[0] && compare(t.v, parsed) > 0);
  const range = previous ? `${previous}..${sha}` : sha;
  const log = await git(repo, 'log', '--no-merges', '--format=%H%x09%s', range);
  const commits: Array<[string, string]> = log
    ? log.split('\n').map((line) => [line.slice(0, line.indexOf('\t')), line.slice(line.indexOf('\t') + 1)])
    : [];
  const lines = [
    previous ? `Changes since ${previous}:` : 'First release. Changes:',
    '',
    ...commits.slice(0, MAX_COMMITS).map(([hash, subject]) => `- ${subject} (${hash.slice(0, 12)})`),
  ];
  if (commits.length > MAX_COMMITS) lines.push(`- ... and ${commits.length - MAX_COMMITS} earlier commits`);
  if (commits.length === 0) lines.push('- no commits');
  return { version, major: `v${parsed[0]}`, previous, sha, moveMajor, notes: `${lines.join('\n')}\n` };
}

/** The plan as GITHUB_OUTPUT lines (the notes in a heredoc with a random delimiter). */
export function githubOutput(plan: ReleasePlan): string {
  const delimiter = `EOF_${randomBytes(12).toString('hex')}`;
  return [
    `version=${plan.version}`,
    `major=${plan.major}`,
    `previous=${plan.previous ?? ''}`,
    `sha=${plan.sha}`,
    `move-major=${plan.moveMajor}`,
    `notes<<${delimiter}`,
    plan.notes.trimEnd(),
    delimiter,
    '',
  ].join('\n');
}

interface Args {
  version: string;
  to?: string;
  repo: string;
  githubOutput?: string;
}

/** The command line; prints usage and exits on --help (0) or a missing --version (2). */
function parseArgs(argv: string[]): Args {
  const { values } = parseNodeArgs({
    args: argv,
    options: {
      version: { type: 'string' },
      to: { type: 'string' },
      repo: { type: 'string', default: '.' },
      'github-output': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || !values.version) {
    console.log(usage);
    process.exit(values.help ? 0 : 2);
  }
  return {
    version: values.version,
    to: values.to,
    repo: resolve(values.repo ?? '.'),
    githubOutput: values['github-output'],
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const plan = await planRelease(args.repo, args.version, args.to);
  process.stdout.write(plan.notes);
  if (args.githubOutput) appendFileSync(args.githubOutput, githubOutput(plan));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
