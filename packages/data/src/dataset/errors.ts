import { MediaError } from '../errors.js';

/**
 * A decoded clip's shape differs from the other clips of its batch (videos of different sizes decoded at their own
 * size: no `decodeSize`, no resizing transform). The loader skips and reports it, or throws it with `'throw'`.
 */
export class ClipShapeError extends MediaError {}
