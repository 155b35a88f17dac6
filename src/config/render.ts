// .env.example and the README's configuration table, rendered from the declarations: the one
// place a variable's name, default and doc are written.
import type { Section, Variable } from './variables.ts';

const SECTIONS: readonly Section[] = ['listening', 'listener limits', 'the tenant', 'caller tokens', 'browser sessions', 'who may call what'];
const SECTION_TITLES: Record<Section, string> = {
  listening: 'listening',
  'listener limits': 'protecting the listener from slow and hostile clients',
  'the tenant': 'the tenant (SailPoint IdentityNow) and the traffic to it',
  'caller tokens': 'caller tokens (your identity provider)',
  'browser sessions': 'browser sessions (the gateway runs the OpenID Connect login)',
  'who may call what': 'who may call what',
};

export const README_START = '<!-- configuration table: generated from src/config/variables.ts by `npm run config:docs` -->';
export const README_END = '<!-- end of the generated configuration table -->';

const plain = (markdown: string) => markdown.replaceAll('**', '').replaceAll('`', '');

export function envExample(variables: readonly Variable[]): string {
  const lines = [
    '# Every variable the gateway reads, with its default. Unset (or empty) = default.',
    '# Without UPSTREAM_BASE_URL (and NODE_ENV not production) the gateway runs in sandbox mode.',
    '# Generated from src/config/variables.ts by `npm run config:docs`: edit the declarations, not this file.',
  ];
  for (const section of SECTIONS) {
    lines.push('', `# --- ${SECTION_TITLES[section]} ${'-'.repeat(Math.max(3, 90 - SECTION_TITLES[section].length))}`);
    for (const v of variables.filter((x) => x.section === section)) {
      lines.push(`# ${plain(v.doc)}`, `${v.name}=${v.exampleValue ?? v.default ?? ''}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function readmeTable(variables: readonly Variable[]): string {
  const rows = variables.map((v) => `| \`${v.name}\` | ${v.doc} | ${v.defaultText ?? (v.default === undefined ? 'unset' : `\`${v.default}\``)} |`);
  return [README_START, '', '| variable | meaning | default |', '|---|---|---|', ...rows, '', README_END].join('\n');
}

/** The README with its configuration table replaced by the rendered one. */
export function withReadmeTable(readme: string, variables: readonly Variable[]): string {
  const start = readme.indexOf(README_START);
  const end = readme.indexOf(README_END);
  if (start < 0 || end < start) throw new Error(`README.md has no generated configuration table (markers ${README_START} … ${README_END})`);
  return readme.slice(0, start) + readmeTable(variables) + readme.slice(end + README_END.length);
}
