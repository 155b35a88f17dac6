import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: process.env.HEAPPROF_ALL === '1' });
setTimeout(async () => {
  const { profile } = await session.post('HeapProfiler.stopSampling');
  writeFileSync('/tmp/promoted.heapprofile', JSON.stringify(profile));
  process.stderr.write('heap profile written\n');
}, Number(process.env.HEAPPROF_MS ?? 12000)).unref();
