// Runs before the test files (npm test): makes sure the real servers they start are installed.
import { ensureSystemNeeds, type SystemNeed } from './support/debian-packages.ts';

const TEST_NEEDS: readonly SystemNeed[] = [
  { command: 'redis-server', debianPackage: 'redis-server', neededFor: 'the replica and shared-budget tests' },
  { command: 'chromium', debianPackage: 'chromium', neededFor: 'the front-end tests in a real browser' },
  { command: 'cc', debianPackage: 'gcc', neededFor: "the bench load generator's test (bench/open-loop.c)" },
];

ensureSystemNeeds('npm test', TEST_NEEDS);
