// Cross-environment checks of `npm run validate` (issue 13 items 8 and 9): every Argo CD Application
// tracks a path some workflow renders (or that exists), and previews never share the ingress
// controller of staging and production.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import {
  checkPreviewImage,
  previewOverrides,
  checkApplicationSources,
  checkPreviewIngress,
  routedThrough,
  readWorkflows,
  renderWrites,
  type K8sObject,
} from '../../pipeline/src/validate/index.js';
import { find, rendered, repoRoot } from './validate-fixtures.js';

describe('application-sources (item 8)', () => {
  test('every Application of argocd/ tracks a path a workflow renders on its branch', async () => {
    const writes = renderWrites(readWorkflows(repoRoot));
    assert.deepEqual(writes.map((w) => `${w.workflow} ${w.job} ${w.branch}:${w.path}`).sort(), [
      'deploy.yml dev deploy:rendered/dev',
      'deploy.yml production deploy:rendered/production',
      'deploy.yml staging deploy:rendered/staging',
    ]);
    assert.deepEqual(checkApplicationSources(await rendered('argocd'), writes, repoRoot), []);
  });

  test('an Application whose path no workflow writes is a problem (switchboard-dev before dev was rendered)', async () => {
    const workflows = readWorkflows(repoRoot);
    const deploy = parse(workflows.get('reusable-deploy.yml')!) as { jobs: Record<string, unknown> };
    delete deploy.jobs.dev;
    workflows.set('reusable-deploy.yml', stringify(deploy));
    const problems = checkApplicationSources(await rendered('argocd'), renderWrites(workflows), repoRoot);
    assert.deepEqual(
      problems.map((p) => `${p.object} ${p.field}`),
      ['Application/switchboard-dev spec.source.path'],
    );
    assert.match(problems[0]!.message, /tracks rendered\/dev on deploy, which no workflow renders/);
  });

  test('restores and dry runs write nothing new; a path in the repository is fine, a missing one is not', async () => {
    const workflows = new Map([
      [
        'x.yml',
        stringify({
          jobs: {
            a: {
              steps: [
                {
                  uses: './actions/render-manifests',
                  with: { environment: 'qa', 'restore-revision': 'abc' },
                },
                { uses: './actions/render-manifests', with: { environment: 'qa2', push: false } },
              ],
            },
          },
        }),
      ],
    ]);
    assert.deepEqual(renderWrites(workflows), []);
    const app = (path: string, revision: string): K8sObject => ({
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: `app-${path.replace(/\W/g, '-')}` },
      spec: { source: { path, targetRevision: revision } },
    });
    const problems = checkApplicationSources(
      [app('overlays/dev', 'main'), app('overlays/nope', 'main')],
      [],
      join(repoRoot),
    );
    assert.deepEqual(
      problems.map((p) => p.object),
      ['Application/app-overlays-nope'],
    );
  });
});

describe('preview-ingress (item 9)', () => {
  const renders = async () =>
    new Map(
      await Promise.all(
        ['overlays/preview', 'overlays/staging', 'overlays/production'].map(
          async (d) => [d, await rendered(d)] as [string, K8sObject[]],
        ),
      ),
    );

  test("the preview overlay's ingress class is not staging's or production's", async () => {
    const all = await renders();
    assert.deepEqual(checkPreviewIngress(all), []);
    // Previews on their own ingress-nginx class; staging and production on the Gateway (item 12).
    assert.deepEqual([...routedThrough(all.get('overlays/preview')!)], ['Ingress:nginx-preview']);
    assert.deepEqual(
      [...routedThrough(all.get('overlays/production')!)],
      ['Gateway:envoy-gateway-system/public'],
    );
  });

  test('a preview on the shared class (or on none: the default class) is a problem', async () => {
    const all = await renders();
    const ingress = find(all.get('overlays/preview')!, 'Ingress', 'switchboard');
    // Production with the ingress-nginx component (base/edge/ingress-nginx): the shared class nginx.
    all
      .get('overlays/production')!
      .push({ ...structuredClone(ingress), spec: { ...ingress.spec, ingressClassName: 'nginx' } });
    ingress.spec.ingressClassName = 'nginx';
    assert.match(
      checkPreviewIngress(all)
        .map((p) => p.message)
        .join('\n'),
      /Ingress:nginx is also what overlays\/production routes through/,
    );
    delete ingress.spec.ingressClassName;
    const prod = find(all.get('overlays/production')!, 'Ingress', 'switchboard');
    delete prod.spec.ingressClassName;
    assert.match(checkPreviewIngress(all)[0]?.message ?? '', /\(default class\)/);
  });
});

describe('preview-image (item 3)', () => {
  test("preview.yml's override names the image overlays/preview's server runs", async () => {
    const overrides = previewOverrides(readWorkflows(repoRoot), repoRoot);
    assert.deepEqual(overrides, [{ where: 'preview.yml job preview', image: 'ghcr.io/switchboard/server' }]);
    const preview = new Map([['overlays/preview', await rendered('overlays/preview')]]);
    assert.deepEqual(checkPreviewImage(preview, overrides), []);
  });

  test('an override named after the push repository (vars.IMAGE, the old preview.yml) is a problem', async () => {
    const workflows = readWorkflows(repoRoot);
    // The caller passes it to reusable-preview.yml, which hands it to preview-env.
    const preview = parse(workflows.get('preview.yml')!) as {
      jobs: Record<string, { with: Record<string, unknown> }>;
    };
    preview.jobs.preview!.with['manifest-image'] = '${{ vars.IMAGE }}';
    workflows.set('preview.yml', stringify(preview));
    const problems = checkPreviewImage(
      new Map([['overlays/preview', await rendered('overlays/preview')]]),
      previewOverrides(workflows, repoRoot),
    );
    assert.equal(problems.length, 1);
    assert.match(
      problems[0]!.message,
      /preview-env replaces "\$\{\{ vars.IMAGE \}\}", but the preview's server runs ghcr.io\/switchboard\/server/,
    );
  });
});
