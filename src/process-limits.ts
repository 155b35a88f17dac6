import { readFileSync } from 'node:fs';
import type { ProcessLimits } from './config.ts';

/** This process's soft limit on open files, from /proc (Linux); undefined elsewhere. */
export function readProcessLimits(): ProcessLimits {
  try {
    const match = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match ? { openFiles: Number(match[1]) } : {};
  } catch {
    return {};
  }
}
