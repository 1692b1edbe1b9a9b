// The packages themselves: built, compared (deb against rpm) and, as root, put
// through dpkg's whole lifecycle on this host. Run by `npm run test:package`
// (.ci/run), never by `npm test`.
export default {
  files: ['test/package/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  workerThreads: false,
  serial: true,
  concurrency: 1,
  timeout: '10m',
};
