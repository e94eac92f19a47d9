// `npm run lint` runs this after eslint: no import cycles in src, type-only imports included (a knot of
// types still ties two files together). The layer directions themselves are eslint's (eslint.config.js);
// the one below repeats the rule for the composition root on resolved paths, so that no spelling of an
// import (an `import()` type, a deeper relative path, a re-export) lets a layer beneath it name src/node.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle: split the shared part into a file both can import (see docs/ARCHITECTURE.md, Layers).',
      from: { path: '^src' },
      to: { circular: true },
    },
    {
      name: 'no-import-of-composition-root',
      severity: 'error',
      comment: 'src/node wires the layers together; they declare the ports they need in their own folder (docs/ARCHITECTURE.md, Layers).',
      from: { path: '^src/(?!node/|cli/)' },
      to: { path: '^src/node/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/gen/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
