// docs/getting-started.md is true to the code: every command in its code blocks is run here (the
// render or dry-run half where the other half needs a cluster) or by the test named for it, and its
// tables say what platform/versions.yaml, the rendered ExternalSecrets and the workflows say.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { pinnedVersion, versionMentions } from '../../pipeline/src/platform/mentions.js';
import { loadPlatform } from '../../pipeline/src/platform/versions.js';
import { $, run } from '../lib/zx.js';
import { rendered, repoRoot, type Loose } from './validate-fixtures.js';

const doc = readFileSync(join(repoRoot, 'docs/getting-started.md'), 'utf8');
const platform = loadPlatform(repoRoot);

/** The shell commands of the doc's ```sh blocks, one per logical line (`\` continuations joined). */
export function shellCommands(markdown: string): string[] {
  const out: string[] = [];
  for (const block of markdown.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```$/gm)) {
    const joined = block[1]!.replace(/\s*\\\n\s*/g, ' ');
    for (const line of joined.split('\n')) {
      const t = line.trim();
      if (t && !t.startsWith('#')) out.push(t);
    }
  }
  return out;
}

const sh = async (command: string) => (await run($({ cwd: repoRoot })`bash -c ${command}`)).stdout;

const kinds = (yamlText: string) =>
  parseAllDocuments(yamlText)
    .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } } | null)
    .filter((o) => o?.kind)
    .map((o) => `${o!.kind}/${o!.metadata?.name}`);

/** The keys the workloads of `objects` read from the Secret `secret`. */
function secretKeys(objects: Loose[], secret: string): string[] {
  const keys = new Set<string>();
  const walk = (v: Loose) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      if (v.secretKeyRef?.name === secret) keys.add(v.secretKeyRef.key as string);
      Object.values(v).forEach(walk);
    }
  };
  for (const o of objects) if (o.kind !== 'ExternalSecret') walk(o.spec);
  return [...keys].sort();
}

/**
 * How each command is exercised: run here (`run` checks its output), or by another test whose file
 * holds `evidence`. A command no rule matches fails the first test.
 */
interface Rule {
  command: RegExp;
  run?: (command: string) => Promise<void>;
  covered?: { file: string; evidence: string };
}

const rules: Rule[] = [
  {
    command: /^npm run validate$/,
    run: async (command) => assert.match(await sh(command), /validate: 0 problems in \d+ targets/),
  },
  {
    command: /^npm run cluster:bootstrap -- --dry-run$/,
    run: async (command) => {
      const out = await sh(command);
      for (const c of platform.components) assert.match(out, new RegExp(`^# ${c.name} ${c.version}: `, 'm'));
    },
  },
  {
    command: /^npm run cluster:bootstrap$/,
    covered: {
      file: 'scripts/test/cluster-bootstrap.test.ts',
      evidence: 'the install runs exactly the planned commands',
    },
  },
  {
    // The apply needs a cluster; what it applies is this render (also validated as a target).
    command: /^kubectl apply --server-side -k base\/edge\/gateway$/,
    run: async () => {
      const objects = kinds(await sh('kubectl kustomize base/edge/gateway'));
      assert.deepEqual(objects.toSorted(), ['Gateway/public', 'GatewayClass/envoy-gateway']);
    },
  },
  {
    command: /^kubectl kustomize argocd \| kubectl apply --server-side -f -$/,
    run: async (command) => {
      const objects = kinds(await sh(command.split(' | ')[0]!));
      assert.ok(objects.includes('AppProject/switchboard'), objects.join());
      for (const env of ['dev', 'staging', 'production'])
        assert.ok(objects.includes(`Application/switchboard-${env}`));
    },
  },
  {
    command: /^for key in .* do printf .*openssl rand.* done$/,
    run: async (command) => {
      const lines = (await sh(command)).trim().split('\n');
      const keys = secretKeys(await rendered('overlays/staging'), 'switchboard-secrets');
      assert.deepEqual(lines.map((l) => l.split('=')[0]).toSorted(), keys);
      for (const line of lines) {
        const value = line.split('=')[1] ?? '';
        // The strictest rules of docs/kubernetes.md, "Secrets": 32+ characters, letters and digits only.
        assert.match(value, /^[A-Za-z0-9]{32,}$/, line);
      }
    },
  },
  {
    command: /^npm run rehearse -- --short --skip-image$/,
    covered: { file: 'scripts/test/rehearse.test.ts', evidence: "rehearse(['--short', '--skip-image']" },
  },
];

describe('docs/getting-started.md', () => {
  const commands = shellCommands(doc);

  test('every command in its code blocks is run by a test', async () => {
    assert.ok(commands.length >= 7, commands.join('\n'));
    const unmatched = commands.filter((c) => !rules.some((r) => r.command.test(c)));
    assert.deepEqual(unmatched, [], 'commands no test exercises: add a rule here or a test');
    for (const rule of rules) {
      const matching = commands.filter((c) => rule.command.test(c));
      assert.ok(matching.length > 0, `stale rule ${rule.command}`);
      for (const command of matching) {
        if (rule.run) await rule.run(command);
        if (rule.covered) {
          const text = readFileSync(join(repoRoot, rule.covered.file), 'utf8');
          assert.ok(text.includes(rule.covered.evidence), `${rule.covered.file} no longer runs: ${command}`);
        }
      }
    }
  });

  test('the extraction finds commands, continuations joined, comments left out', () => {
    assert.deepEqual(
      shellCommands('x\n```sh\n# note\nnpm run a -- \\\n  --b\n\nkubectl c\n```\n```yaml\nk: v\n```\n'),
      ['npm run a -- --b', 'kubectl c'],
    );
  });

  test('the platform table names every pinned component at its version', () => {
    const mentions = versionMentions(doc);
    const missing = platform.components
      .map((c) => c.name)
      .filter(
        (name) =>
          !mentions.some(
            (m) => m.component === name && m.version.replace(/^v/, '') === pinnedVersion(platform, name),
          ),
      );
    assert.deepEqual(missing, []);
  });

  test("the secrets table is each environment's ExternalSecret: Secret, store, entry and the keys read", async () => {
    for (const env of ['dev', 'preview', 'staging', 'production']) {
      const objects = await rendered(`overlays/${env}`);
      const external = objects.filter((o) => o.kind === 'ExternalSecret') as Loose[];
      assert.equal(external.length, 1, env);
      const es = external[0];
      const secret = es.spec.target.name as string;
      const store = `${es.spec.secretStoreRef.kind}/${es.spec.secretStoreRef.name}`;
      const entry = es.spec.dataFrom[0].extract.key as string;
      const keys = secretKeys(objects, secret);
      const row = doc.split('\n').find((l) => l.startsWith(`| ${env} `));
      assert.ok(row, `no row for ${env}`);
      const cells = row.split('|').map((c) => c.trim().replace(/`/g, ''));
      assert.deepEqual(cells.slice(2, 5), [secret, store, entry], env);
      assert.deepEqual(cells[5]!.split(', ').toSorted(), keys, env);
    }
  });

  test('the GitHub settings name exactly the environments, variables and secrets the workflows read', () => {
    const dir = join(repoRoot, '.github/workflows');
    const text = readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => readFileSync(join(dir, f), 'utf8'))
      .join('\n');
    const environments = new Set([...text.matchAll(/^ {4}environment: ([a-z]+)$/gm)].map((m) => m[1]!));
    const names = new Set(
      [...text.matchAll(/\b(?:vars|secrets)\.([A-Z][A-Z0-9_]*)/g)]
        .map((m) => m[1]!)
        .filter((n) => n !== 'GITHUB_TOKEN'),
    );
    const section = doc.slice(doc.indexOf('## 5. GitHub'), doc.indexOf('## 6.'));
    for (const e of environments)
      assert.match(section, new RegExp(`\\*\\*Environments\\*\\*[^\\n]*\`${e}\``), e);
    const table = section.slice(0, section.indexOf('**Protection'));
    const listed = new Set([...table.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((m) => m[1]!));
    listed.delete('GITHUB_TOKEN');
    assert.deepEqual(
      [...names].filter((n) => !listed.has(n)),
      [],
      'read by a workflow, missing from the doc',
    );
    assert.deepEqual(
      [...listed].filter((n) => !names.has(n)),
      [],
      'in the doc, read by no workflow',
    );
    assert.deepEqual([...environments].toSorted(), ['production', 'staging']);
  });
});
