/** The audio layer under `talk`/`listen`: finding ffmpeg, building its command lines, reading its failures. */
export * from './args.js';
export * from './devices.js';
export * from './failure.js';
export * from './ffmpeg.js';
export * from './probe-parse.js';
export * from './wav.js';
export * from './wav-feed.js';
export * from './player.js';
export * from './level.js';
export * from './ogg.js';
export * from './catch-up.js';
