import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

/** ../shared/fixtures, beside the repository root. */
export const FIXTURES = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../../../shared/fixtures');
