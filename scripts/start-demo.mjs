// `npm start`: runs the sample guest (samples/hello) through the CLI, showing
// its serial output and the ring/mode/exception trace in the terminal.
// The sample ships prebuilt; it is rebuilt first when an assembler exists.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const image = join(root, 'samples/hello/hello.elf');
if (spawnSync('as', ['--version'], { stdio: 'ignore' }).status === 0) {
  spawnSync(process.execPath, [join(root, 'scripts/build-guests.mjs'), 'hello'], { stdio: 'inherit' });
}
if (!existsSync(image)) {
  console.error(`vmscope: the demo image ${image} is missing; install binutils and run npm run build:guests`);
  process.exit(1);
}
console.log(`vmscope: running ${image} on the built-in emulator (serial output below, trace on stderr)\n`);
const r = spawnSync(process.execPath, [join(root, 'dist/cli.js'), 'run', image, '--trace', 'ring,mode,exception', '--stats', '--timeout', '60'], { stdio: 'inherit' });
console.log(`\nvmscope: guest exited with status ${r.status}`);
process.exit(0);
