// The real servers the tests and benchmarks run that npm cannot bring: found on PATH, installed
// from Debian's packages when missing and we may (root with apt-get), or a stop with one line
// saying what to install. Never a silent skip: a test that needs a server always runs it.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface SystemNeed {
  /** The executable looked for on PATH. */
  command: string;
  debianPackage: string;
  /** What needs it, for the one line an operator reads. */
  neededFor: string;
  /** Optional needs are installed when possible but never stop the run. */
  optional?: boolean;
}

export function onPath(command: string, path = process.env.PATH ?? ''): boolean {
  return path.split(delimiter).some((dir) => {
    if (dir === '') return false;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function missingNeeds(needs: readonly SystemNeed[], path = process.env.PATH ?? ''): SystemNeed[] {
  return needs.filter((need) => !onPath(need.command, path));
}

/** The one line printed when a needed server is missing and cannot be installed here. */
export function installAdvice(who: string, missing: readonly SystemNeed[]): string {
  const what = missing.map((n) => `${n.command} (${n.neededFor})`).join(', ');
  const packages = missing.map((n) => n.debianPackage).join(' ');
  return `${who} needs ${what}: install it with "apt-get install -y ${packages}" (run as root, ${who} installs it itself)`;
}

/**
 * SYSTEM_PACKAGES_INSTALL=never turns the install off (an operator who manages the machine
 * another way); the run then stops with the advice line instead.
 */
export function ensureSystemNeeds(who: string, needs: readonly SystemNeed[], env: NodeJS.ProcessEnv = process.env): void {
  const path = env.PATH ?? '';
  const missing = missingNeeds(needs, path);
  if (missing.length === 0) return;
  const mayInstall = env.SYSTEM_PACKAGES_INSTALL !== 'never' && process.getuid?.() === 0 && onPath('apt-get', path);
  if (mayInstall) {
    const packages = missing.map((n) => n.debianPackage);
    console.error(`${who}: installing ${packages.join(' ')} from Debian's packages`);
    const script = `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${packages.join(' ')}`;
    spawnSync('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'inherit'], env });
  }
  const still = missingNeeds(needs, path).filter((n) => !n.optional);
  if (still.length > 0) {
    console.error(installAdvice(who, still));
    process.exit(1);
  }
}
