/**
 * All-pairs (pairwise) covering sets: every value of every dimension meets every value of every other
 * dimension in at least one row. Greedy and deterministic: the same dimensions always give the same rows.
 */

export type Value = string | number | boolean;
export type Row = Record<string, Value>;

export interface Dimension {
  name: string;
  values: readonly Value[];
}

const keyOf = (dimension: string, value: Value): string => `${dimension}=${JSON.stringify(value)}`;

/** What a row covers: each of its values alone, and each pair of its values. */
function coveredBy(row: Row, dimensions: readonly Dimension[]): string[] {
  const keys: string[] = [];
  dimensions.forEach((first, index) => {
    const a = keyOf(first.name, row[first.name] as Value);
    keys.push(a);
    for (const second of dimensions.slice(index + 1)) {
      keys.push(`${a}&${keyOf(second.name, row[second.name] as Value)}`);
    }
  });
  return keys;
}

function product(dimensions: readonly Dimension[]): Row[] {
  let rows: Row[] = [{}];
  for (const dimension of dimensions) {
    if (dimension.values.length === 0) throw new Error(`dimension ${dimension.name} has no values`);
    rows = rows.flatMap((row) => dimension.values.map((value) => ({ ...row, [dimension.name]: value })));
  }
  return rows;
}

/**
 * A small set of rows covering every pair of values (AETG-style greedy: each step takes the row of the full
 * product that covers the most pairs still open, the first one on ties).
 */
export function allPairs(dimensions: readonly Dimension[]): Row[] {
  const candidates = product(dimensions).map((row) => ({ row, covers: coveredBy(row, dimensions) }));
  const open = new Set(candidates.flatMap((candidate) => candidate.covers));
  const rows: Row[] = [];
  while (open.size > 0) {
    let best = candidates[0];
    let bestScore = 0;
    for (const candidate of candidates) {
      let score = 0;
      for (const key of candidate.covers) if (open.has(key)) score += 1;
      if (score > bestScore) {
        best = candidate;
        bestScore = score;
      }
    }
    if (!best) break;
    for (const key of best.covers) open.delete(key);
    rows.push(best.row);
  }
  return rows;
}
