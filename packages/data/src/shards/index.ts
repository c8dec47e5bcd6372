export { TarWriter, readTar, tarHeader } from './tar.js';
export type { TarMember } from './tar.js';
export { ShardWriter, readShard, streamShards } from './webdataset.js';
export type { ShardSample, ShardWriterOptions, ShardPosition } from './webdataset.js';
export { openShardVideo } from './shard_video.js';
