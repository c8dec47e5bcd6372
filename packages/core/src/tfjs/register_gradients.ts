// tfjs-core registers its gradients only from an ESM module with extension-less imports, which Node cannot
// load directly; the build bundles it (tsup noExternal) so that importing @iv2/core makes every op differentiable.
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
