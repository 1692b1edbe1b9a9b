// Integration tests against a real libvirtd: run by `npm run test:integration`,
// never by `npm test` (they start daemons and install the hook on this host).
import { hostSuite } from '../host-suite.mjs';

export default hostSuite('integration', '10m');
