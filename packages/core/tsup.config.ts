import { packageBuildConfig } from '../../tsup.shared.ts';

// Bundled on purpose: see src/tfjs/register_gradients.ts.
export default packageBuildConfig({ noExternal: [/tfjs-core\/dist\/register_all_gradients/] });
