/**
 * Test certificates for the ffi suites: the repository's shared helper
 * (test/support/certs.ts, openssl CLI), re-exported.
 */
export { generateTestCerts, type TestCerts } from '../../../../test/support/certs.js';
