// npm run config:docs — writes .env.example and the README's configuration table from the
// declarations in src/config/variables.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { envExample, withReadmeTable } from './render.ts';
import { VARIABLES } from './variables.ts';

writeFileSync('.env.example', envExample(VARIABLES));
writeFileSync('README.md', withReadmeTable(readFileSync('README.md', 'utf8'), VARIABLES));
console.log(`.env.example and the README's configuration table: ${VARIABLES.length} variables`);
