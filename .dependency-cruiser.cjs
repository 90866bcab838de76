/**
 * The one-way structure of src/ (docs/architecture.md), checked by `npm run depcheck` in CI.
 * Type-only imports count: `tsPreCompilationDeps` keeps them in the graph.
 */

/** src/'s folders in dependency order: a folder may import only from itself and the folders before it. */
const LAYERS = ['core', 'edges', 'ingest', 'state', 'alerts', 'analytics', 'delivery', 'server', 'client', 'app'];

const againstTheFlow = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `flow-${layer}`,
  severity: 'error',
  comment: `src/${layer}/ may import only from ${LAYERS.slice(0, i + 1).join(', ')}: the layers after it depend on it, not the other way round`,
  from: { path: `^src/${layer}/` },
  to: { path: `^src/(${LAYERS.slice(i + 1).join('|')})/` },
}));

module.exports = {
  forbidden: [
    ...againstTheFlow,
    {
      name: 'no-root-modules',
      severity: 'error',
      comment: 'every module of src/ lives in one of the layer folders',
      from: { path: '^src/[^/]+$' },
      to: {},
    },
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'no import cycle, between files or between folders (type imports included)',
      from: { path: '^(src|scripts)/' },
      to: { circular: true },
    },
    {
      name: 'marketing-before-sinks',
      severity: 'error',
      comment:
        'delivery/marketing/ is the pure vocabulary of delivery (gate, CloudEvent, backoff); delivery/sinks/ does the I/O with it',
      from: { path: '^src/delivery/marketing/' },
      to: { path: '^src/delivery/sinks/' },
    },
    {
      name: 'no-test-code-in-src',
      severity: 'error',
      comment: 'shipped code and scripts never import test helpers',
      from: { path: '^(src|scripts|bench)/' },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
