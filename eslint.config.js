// Lint enforces the import directions of docs/ARCHITECTURE.md: imports point down the layer table.
// `allowTypeImports` lets a layer name the types of a lower-level peer without depending on its code.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const LAYERS = ['common', 'raft', 'gossip', 'storage', 'transport', 'resolver', 'auth', 'kv', 'service', 'metrics', 'ui', 'node', 'cli', 'client'];

/** layer -> { code: layers it may import, types: layers it may import types from } */
const ALLOWED = {
  common: { code: [], types: [] },
  raft: { code: ['common'], types: [] },
  gossip: { code: ['common'], types: [] },
  storage: { code: ['common'], types: ['raft'] },
  transport: { code: ['common'], types: ['raft', 'gossip'] },
  resolver: { code: ['common'], types: ['gossip'] },
  // The auth model (users, roles, permissions, tokens, password hashes): pure of the layers above.
  auth: { code: ['common'], types: [] },
  kv: { code: ['common', 'storage', 'auth'], types: ['raft'] },
  // The raft node arrives through the service's own port (src/service/node-port.ts), never src/node's types.
  service: { code: ['common', 'resolver', 'auth', 'gen'], types: ['raft', 'kv', 'storage'] },
  // Metrics reads the others' stats() at scrape time through shapes it declares (raft-collector.ts,
  // gossip-collector.ts): lower layers' types, plus the pure cores' name helpers; nothing of src/node.
  metrics: { code: ['common', 'raft', 'gossip'], types: ['transport', 'kv'] },
  // The cluster page reads node, gossip, kv and metrics through narrow read-only interfaces (src/ui/sources.ts).
  ui: { code: ['common', 'raft', 'gossip'], types: ['kv', 'metrics', 'transport'] },
  node: { code: ['common', 'raft', 'gossip', 'storage', 'transport', 'resolver', 'auth', 'kv', 'service', 'metrics', 'ui', 'gen'], types: [] },
  cli: { code: ['common', 'node', 'client', 'gen', 'auth'], types: [] },
  client: { code: ['common', 'gen'], types: [] },
};

function restrictionsFor(layer) {
  const { code, types } = ALLOWED[layer];
  const forbidden = [...LAYERS, 'gen'].filter((l) => l !== layer && !code.includes(l));
  return forbidden.map((l) => ({
    group: [`../${l}/*`, `../../${l}/*`, `../${l}`, `../../${l}`],
    message: `src/${layer} may not import src/${l} (see the layer table in docs/ARCHITECTURE.md)`,
    allowTypeImports: types.includes(l),
  }));
}

const PURE_CORE_RULES = {
  'no-restricted-globals': ['error',
    { name: 'Date', message: 'pure core: time arrives as ticks' },
    { name: 'setTimeout', message: 'pure core: no timers' },
    { name: 'setInterval', message: 'pure core: no timers' },
    { name: 'setImmediate', message: 'pure core: no timers' },
    { name: 'performance', message: 'pure core: time arrives as ticks' },
    { name: 'process', message: 'pure core: no process access' },
    { name: 'console', message: 'pure core: no logging' },
  ],
  'no-restricted-properties': ['error',
    { object: 'Math', property: 'random', message: 'pure core: use the injected Random' },
    { object: 'process', property: 'exit', message: 'only src/cli calls process.exit' },
  ],
  'no-restricted-syntax': ['error',
    { selector: 'AwaitExpression', message: 'pure core: synchronous only' },
    { selector: 'FunctionDeclaration[async=true], ArrowFunctionExpression[async=true], FunctionExpression[async=true]', message: 'pure core: synchronous only' },
    { selector: "ImportDeclaration[source.value=/^node:/]", message: 'pure core: no node:* imports' },
  ],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/gen/**', 'coverage/**', '.scratch/**', '.data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // Type-aware rules on the product code (no-floating-promises, no-misused-promises, unsafe any, ...).
  ...tseslint.configs.recommendedTypeChecked.map((c) => ({ ...c, files: ['src/**/*.ts'] })),
  {
    files: ['src/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Rethrowing what a catch or an abort signal carries is how errors travel here; they are typed at the boundary.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true, allowThrowingAny: true }],
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true, allowThrowingAny: true }],
      // Methods that implement a Promise-returning interface without waiting on anything are fine.
      '@typescript-eslint/require-await': 'off',
    },
  },
  ...LAYERS.map((layer) => ({
    files: [`src/${layer}/**/*.ts`],
    rules: { '@typescript-eslint/no-restricted-imports': ['error', { patterns: restrictionsFor(layer) }] },
  })),
  { files: ['src/cli/**/*.ts', 'scripts/**/*.ts', 'test/**/*.ts'], rules: {} },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: { 'no-restricted-properties': ['error', { object: 'process', property: 'exit', message: 'only src/cli calls process.exit' }] },
  },
  { files: ['src/raft/**/*.ts', 'src/gossip/**/*.ts'], rules: PURE_CORE_RULES },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } } },
  {
    // The cluster page's browser script: plain JavaScript served as is (no build step).
    files: ['src/ui/assets/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { window: 'readonly', document: 'readonly', EventSource: 'readonly', fetch: 'readonly', URLSearchParams: 'readonly', uPlot: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', Date: 'readonly', Intl: 'readonly', ResizeObserver: 'readonly' },
    },
  },
);
