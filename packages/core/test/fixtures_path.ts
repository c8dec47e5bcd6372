// The golden data of the repository (`fixtures/` at its root); see test-utils/fixtures.ts.
export { FIXTURES, MEDIA, REPO_ROOT, fixtureCases } from '../../../test-utils/fixtures.js';
