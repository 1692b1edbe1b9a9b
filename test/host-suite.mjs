// The ava configuration of a suite that acts on this host (its libvirtd, its
// dpkg database, guests it boots): one test file at a time, in the main
// process, never run by `npm test`.
export function hostSuite(dir, timeout) {
  return {
    files: [`test/${dir}/**/*.test.ts`],
    extensions: { ts: 'module' },
    nodeArguments: ['--import=tsx'],
    workerThreads: false,
    serial: true,
    concurrency: 1,
    timeout,
  };
}
