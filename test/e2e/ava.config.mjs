// End-to-end tests in a TCG guest with an AppArmor kernel: run by
// `npm run test:e2e`, never by `npm test` (they boot a VM as root for minutes).
import { hostSuite } from '../host-suite.mjs';

// The guests boot before any result: two at a time, under TCG, they take
// most of an hour on a busy two-core machine (each guest has its own timeout).
export default hostSuite('e2e', '75m');
