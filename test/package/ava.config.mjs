// The packages themselves: built, compared (deb against rpm) and, as root, put
// through dpkg's whole lifecycle on this host. Run by `npm run test:package`
// (.ci/run), never by `npm test`.
import { hostSuite } from '../host-suite.mjs';

export default hostSuite('package', '10m');
