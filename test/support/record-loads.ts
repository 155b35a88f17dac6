// Preloaded with --import: writes the URL of every module the process loaded to the file named by
// RECORD_LOADS_TO when it exits, so a test can say what a gateway process carries.
import { registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';

const loaded = new Set<string>();
registerHooks({
  load(url, context, nextLoad) {
    loaded.add(url);
    return nextLoad(url, context);
  },
});
process.once('exit', () => writeFileSync(process.env.RECORD_LOADS_TO as string, [...loaded].join('\n')));
