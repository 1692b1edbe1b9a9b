// Integration tests against a real libvirtd: run by `npm run test:integration`,
// never by `npm test` (they start daemons and install the hook on this host).
export default {
  files: ['test/integration/**/*.test.ts'],
  extensions: { ts: 'module' },
  nodeArguments: ['--import=tsx'],
  workerThreads: false,
  serial: true,
  concurrency: 1,
  timeout: '10m',
};
