// The house rules of src/, checked by `npm run lint` (docs/architecture.md): no import circle, and the ground floor
// (platform/) never reaches up into the features, the jobs or the command-line tools.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules that import each other, directly or through others, cannot be understood or changed alone.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'platform-stays-below',
      severity: 'error',
      comment: 'platform/ is the shared core: a feature, a job or a command may use it, never the other way round.',
      from: { path: '^src/platform/' },
      to: { path: '^src/(features|jobs|cli)/' },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // packages' subpath exports (hono/cookie, csv-parse/sync) as Node resolves them
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'node', 'default'] },
    exclude: { path: '\\.test\\.ts$' },
  },
}
