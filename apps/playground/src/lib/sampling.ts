// The official frame samplers of @iv2/data (its browser entry has them too).
export { frameIndices } from '@iv2/data';
