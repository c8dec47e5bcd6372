import { mergeConfig } from 'vitest/config';
import { packageTestConfig } from '../../vitest.shared.ts';

// In Node the synthetic generator is @iv2/data itself (the page's build points the same name at its source).
export default mergeConfig(packageTestConfig(), { resolve: { alias: { 'iv2-synthetic': '@iv2/data' } } });
