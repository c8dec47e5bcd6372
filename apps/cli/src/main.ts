import { defineCommand, runMain } from 'citty';
import { chatCmd } from './commands/chat.js';
import { convert } from './commands/convert.js';
import { demo } from './commands/demo.js';
import { evalCmd } from './commands/eval.js';
import { exportCmd } from './commands/export.js';
import { extract } from './commands/extract.js';
import { info } from './commands/info.js';
import { pageTrain } from './commands/page_train.js';
import { synth } from './commands/synth.js';
import { trainCmd } from './commands/train.js';

const main = defineCommand({
  meta: { name: 'iv2', version: '0.1.0', description: 'InternVideo2 on TensorFlow.js' },
  subCommands: { info, demo, train: trainCmd, eval: evalCmd, chat: chatCmd, synth, extract, convert, export: exportCmd, 'page-train': pageTrain },
});

runMain(main);
