import { packageTestConfig } from '../../vitest.shared.ts';

// tfjs-core's gradient registrations live in its extension-less ESM build: let Vite resolve them.
export default packageTestConfig({ server: { deps: { inline: [/tfjs-core[\\/]dist[\\/](?!tf-core)/] } } });
