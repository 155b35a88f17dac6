// CSV bodies for the simulated tenant: a realistic small export, and a "bulk" one of any size
// whose length is known in advance (fixed-size blocks), for streaming tests and benchmarks.

export const CSV_HEADER = 'accountName,firstName,lastName,phone,email,manager,startDate,endDate\n';

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Tim'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Perlman', 'Berners-Lee'];

/** A deterministic export of `rows` non-employees, like SailPoint's 8 fixed columns. */
export function realisticCsv(rows: number): Buffer {
  const lines = [CSV_HEADER];
  for (let i = 0; i < rows; i += 1) {
    const first = FIRST[i % FIRST.length] as string;
    const last = LAST[Math.floor(i / FIRST.length) % LAST.length] as string;
    const account = `${first}.${last}.${i}`;
    const month = String((i % 12) + 1).padStart(2, '0');
    lines.push(
      `${account},${first},${last},555-${String(i % 10_000).padStart(4, '0')},${account.toLowerCase()}@contractor.example,` +
        `${LAST[(i + 3) % LAST.length]},2026-${month}-01T08:00:00Z,2027-${month}-01T17:00:00Z\n`,
    );
  }
  return Buffer.from(lines.join(''));
}

const BULK_ROW = 'bulk.0000000000,Bulk,Contractor,555-0100,bulk@contractor.example,Manager,2026-01-01T00:00:00Z,2026-12-31T00:00:00Z\n';
const ROWS_PER_BLOCK = 600;
const TEMPLATE = Buffer.from(BULK_ROW.repeat(ROWS_PER_BLOCK));
const BULK_BLOCK_BYTES = TEMPLATE.length;

export function bulkCsvLength(blocks: number): number {
  return CSV_HEADER.length + blocks * BULK_BLOCK_BYTES;
}

export function bulkBlocksFor(bytes: number): number {
  return Math.max(1, Math.ceil((bytes - CSV_HEADER.length) / BULK_BLOCK_BYTES));
}

/** Bulk blocks first … first + count − 1, back to back: the template, its block number stamped in its first row. */
export function bulkBlocks(first: number, count: number): Buffer {
  const blocks = Buffer.allocUnsafe(count * BULK_BLOCK_BYTES);
  for (let i = 0; i < count; i += 1) {
    TEMPLATE.copy(blocks, i * BULK_BLOCK_BYTES);
    blocks.write(String(first + i).padStart(10, '0'), i * BULK_BLOCK_BYTES + 5, 'latin1');
  }
  return blocks;
}

/** How many blocks make about 1 MiB. */
export const BULK_BATCH = Math.max(1, Math.round((1024 * 1024) / BULK_BLOCK_BYTES));
