/**
 * The one dependency rule: imports point down, never up, never in a circle.
 *
 *   client -> workflows / worker -> activities -> lib -> common
 *
 * common: pure and workflow-safe (spec, topology, decisions, error types); imports nothing of the project.
 * lib: adapters (Postgres, etcd, secrets, Temporal server); imports lib and common.
 * activities: imports activities, lib, common.
 * workflows: imports workflows and common, plus `import type` from activities (the activity signatures);
 *   a value import from activities would pull Node code into the workflow bundle.
 * worker: imports workflows, activities, lib, common.
 * client: may import workflows, worker, lib and common; never activities (it talks to Temporal and
 *   reads state; Docker and SQL it needs come from lib).
 * bench and test: outside the rule (checked only for cycles when passed on the command line).
 *
 * Run with `npm run depcheck` (part of `npm test`, hence of CI), with .ci/layout-check.js beside it:
 * no SQL outside lib/, no activity module building another's activities.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means two modules cannot be read, tested or moved apart. Move the shared piece down a layer.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'common-is-the-bottom',
      severity: 'error',
      comment: 'common is pure and workflow-safe: it imports nothing of the project outside common.',
      from: { path: '^common/' },
      to: { path: '^(lib|activities|workflows|worker|client|bench|test)/' },
    },
    {
      name: 'lib-imports-lib-and-common',
      severity: 'error',
      comment: 'lib holds adapters; it may import only lib and common (types it needs live in lib).',
      from: { path: '^lib/' },
      to: { path: '^(activities|workflows|worker|client|bench|test)/' },
    },
    {
      name: 'activities-import-activities-lib-common',
      severity: 'error',
      comment: 'activities may import only activities, lib and common.',
      from: { path: '^activities/' },
      to: { path: '^(workflows|worker|client|bench|test)/' },
    },
    {
      name: 'workflows-import-workflows-and-common',
      severity: 'error',
      comment: 'Workflows are bundled into the sandbox: only workflows and common, never lib, worker or client.',
      from: { path: '^workflows/' },
      to: { path: '^(lib|worker|client|bench|test)/' },
    },
    {
      name: 'workflows-import-only-types-from-activities',
      severity: 'error',
      comment: 'Workflows may take the activity signatures (`import type`) from activities, never values.',
      from: { path: '^workflows/' },
      to: { path: '^activities/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'worker-imports-below',
      severity: 'error',
      comment: 'worker may import workflows, activities, lib and common, not client.',
      from: { path: '^worker/' },
      to: { path: '^(client|bench|test)/' },
    },
    {
      name: 'client-imports-no-activities',
      severity: 'error',
      comment:
        'The CLI talks to Temporal and reads state: what it needs of Docker or SQL comes from lib, never from ' +
        'activities.',
      from: { path: '^client/' },
      to: { path: '^activities/' },
    },
    {
      name: 'client-imports-no-tests-or-bench',
      severity: 'error',
      comment: 'client is the top of the product; it must not depend on bench or test code.',
      from: { path: '^client/' },
      to: { path: '^(bench|test)/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules|coverage)/' },
    // Keep type-only imports in the graph (marked 'type-only'), so the workflows rule can tell `import type` apart.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['main', 'types', 'typings'],
    },
  },
};
