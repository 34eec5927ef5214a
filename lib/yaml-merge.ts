import { isDeepStrictEqual } from 'node:util';
import {
  type Document,
  isMap,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  parseDocument,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import { ForgeUserError } from './errors.js';

/**
 * Three-way merge of generated YAML into a file the user may have edited (docker-compose.yml, Kubernetes
 * manifests, ...). The three sides are:
 * - `current`: the file as it is now (comments, key order and the user's own keys are kept);
 * - `base`: what the generator wrote last time (stored as data in `.forge/structured.json`);
 * - `generated`: what it would write now.
 *
 * A value the user left as the generator wrote it follows the generator. A value only the user changed
 * stays theirs. A value both changed stays the user's and is reported (or, with `preferGenerated`, takes
 * the generated value). Keys and list items the user added are never touched; a key the user removed
 * stays removed. Maps merge key by key; lists of scalars (`ports`, `resources`) merge item by item; lists of
 * maps with a `name` key (containers, env) merge by name; anything else (e.g. a command) is one value.
 */
export interface YamlMergeResult {
  /** The new file content (identical to `current` when nothing changed). */
  content: string;
  /** The generated data: the base of the next merge. */
  generated: unknown;
  /** Paths where the user's value was kept although the generator wanted another one. */
  kept: string[];
  /** Paths where the generated value replaced the user's (only with `preferGenerated`). */
  overwritten: string[];
  /** The generated comment at the top of the file: the base of the next merge's. */
  comment: string;
}

export interface YamlMergeOptions {
  /** Where the file lives, for error messages. */
  file: string;
  /** The comment at the top of the file as the generator wrote it last time (see YamlMergeResult.comment). */
  baseComment?: string;
  /**
   * For a map (by its dotted path) that several contributors fill: the keys the others wrote before this
   * one's in this run, so a key added later still lands where a fresh run puts it.
   */
  keysBefore?: Record<string, string[]>;
  /** On a conflict, take the generated value (`--force`) instead of keeping the user's. */
  preferGenerated?: boolean;
}

/** Lists whose order carries meaning: never merged item by item. */
const ORDERED_KEYS = new Set(['command', 'args', 'entrypoint', 'test', 'CMD']);

/** Options every forge YAML file is written with; templates are laid out the same way. */
export const YAML_OUTPUT = {
  lineWidth: 0,
  indent: 2,
  indentSeq: true,
  flowCollectionPadding: false,
} as const;

const NO_BASE = Symbol('no base');
type Base = unknown;

interface MergeState {
  keysBefore: Record<string, string[]>;
  changed: boolean;
  kept: string[];
  overwritten: string[];
  preferGenerated: boolean;
}

export function parseYaml(text: string, file: string): Document {
  const doc = parseDocument(text, { keepSourceTokens: false });
  const problem = doc.errors[0];
  if (problem) {
    throw new ForgeUserError(
      `${file} is not valid YAML (${problem.message.split('\n')[0]}); fix it and run again`,
    );
  }
  return doc;
}

export function mergeYaml(
  current: string | undefined,
  generated: string,
  base: Base | undefined,
  options: YamlMergeOptions,
): YamlMergeResult {
  const generatedDoc = parseDocument(generated);
  if (generatedDoc.errors.length > 0) {
    throw new Error(`generated YAML for ${options.file} is invalid: ${generatedDoc.errors[0]?.message}`);
  }
  const generatedData = generatedDoc.toJS() as unknown;
  const comment = headComment(generatedDoc);
  if (current === undefined || current.trim() === '') {
    return { content: generated, generated: generatedData, kept: [], overwritten: [], comment };
  }
  const currentDoc = parseYaml(current, options.file);
  const state: MergeState = {
    keysBefore: options.keysBefore ?? {},
    changed: false,
    kept: [],
    overwritten: [],
    preferGenerated: options.preferGenerated ?? false,
  };
  const root = generatedDoc.contents as Node | null;
  const currentRoot = currentDoc.contents as Node | null;
  if (isMap(root) && isMap(currentRoot)) {
    mergeMap(currentRoot, base === undefined ? NO_BASE : base, root, [], state);
  } else if (!isDeepStrictEqual(toData(currentRoot), generatedData)) {
    resolveLeaf(state, [], () => (currentDoc.contents = cloneNode(root) as never));
  }
  // The comment at the top says what the file does; it follows the generator unless the user rewrote it.
  const currentComment = headComment(currentDoc);
  if (currentComment !== comment && (currentComment === options.baseComment || state.preferGenerated)) {
    setHeadComment(currentDoc, comment);
    state.changed = true;
  }
  return {
    content: state.changed ? currentDoc.toString(YAML_OUTPUT) : current,
    generated: generatedData,
    kept: state.kept,
    overwritten: state.overwritten,
    comment,
  };
}

/** The comment above the first line of a document's content ('' when there is none). */
function headComment(doc: Document): string {
  const first = isMap(doc.contents) ? (doc.contents.items[0]?.key as Node | undefined) : undefined;
  return doc.commentBefore ?? first?.commentBefore ?? '';
}

function setHeadComment(doc: Document, comment: string): void {
  const first = isMap(doc.contents) ? (doc.contents.items[0]?.key as Node | undefined) : undefined;
  if (doc.commentBefore || !first) doc.commentBefore = comment || null;
  else first.commentBefore = comment || undefined;
}

function mergeMap(current: YAMLMap, base: Base, generated: YAMLMap, path: string[], state: MergeState): void {
  const baseMap = isRecord(base) ? base : undefined;
  const generatedKeys = new Set<string>();
  for (const pair of generated.items) {
    const key = keyOf(pair);
    generatedKeys.add(key);
    const currentPair = findPair(current, key);
    const baseValue = baseMap && key in baseMap ? baseMap[key] : NO_BASE;
    const here = [...path, key];
    if (!currentPair) {
      if (baseValue === NO_BASE) {
        insertInGeneratedOrder(current, generated, pair, state.keysBefore[path.join('.')] ?? []);
        state.changed = true;
      } else if (!isDeepStrictEqual(baseValue, toData(pair.value as Node))) {
        // The user removed a key the generator now writes differently: it stays removed, and is reported.
        const keysBefore = state.keysBefore[path.join('.')] ?? [];
        resolveLeaf(
          state,
          here,
          () => insertInGeneratedOrder(current, generated, pair, keysBefore),
          'removed by you',
        );
      }
      continue;
    }
    mergeValue(
      currentPair.value as Node,
      (node) => (currentPair.value = node),
      baseValue,
      pair.value as Node,
      here,
      key,
      state,
    );
  }
  // Keys the generator wrote last time and no longer writes: removed unless the user changed them.
  for (const [key, value] of Object.entries(baseMap ?? {})) {
    if (generatedKeys.has(key)) continue;
    const currentPair = findPair(current, key);
    if (currentPair && isDeepStrictEqual(toData(currentPair.value as Node), value)) {
      current.items.splice(current.items.indexOf(currentPair), 1);
      state.changed = true;
    }
  }
}

/**
 * Adds a generated key after the nearest key before it in the generated map (or else among `keysBefore`)
 * that the file has, last when there is none: a file grows the same key order whatever order its parts
 * were added in.
 */
function insertInGeneratedOrder(
  current: YAMLMap,
  generated: YAMLMap,
  pair: Pair,
  keysBefore: string[],
): void {
  const before = [
    ...generated.items.slice(0, generated.items.indexOf(pair)).map(keyOf),
    ...keysBefore,
  ].reverse();
  const anchor = before.map((key) => findPair(current, key)).find((found) => found !== undefined);
  const at = anchor === undefined ? current.items.length : current.items.indexOf(anchor) + 1;
  current.items.splice(at, 0, clonePair(pair));
}

function mergeValue(
  current: Node,
  replace: (node: Node) => void,
  base: Base,
  generated: Node,
  path: string[],
  key: string,
  state: MergeState,
): void {
  const currentData = toData(current);
  const generatedData = toData(generated);
  if (isDeepStrictEqual(currentData, generatedData)) return;
  if (base !== NO_BASE && isDeepStrictEqual(currentData, base)) {
    replace(cloneNode(generated));
    state.changed = true;
    return;
  }
  if (base !== NO_BASE && isDeepStrictEqual(generatedData, base)) return;
  if (isMap(current) && isMap(generated)) {
    mergeMap(current, base, generated, path, state);
    return;
  }
  if (
    isSeq(current) &&
    isSeq(generated) &&
    !ORDERED_KEYS.has(key) &&
    mergeSeq(current, base, generated, path, state)
  ) {
    return;
  }
  resolveLeaf(state, path, () => replace(cloneNode(generated)));
}

/** Merges two lists item by item when their items allow it; returns false when they must be one value. */
function mergeSeq(
  current: YAMLSeq,
  base: Base,
  generated: YAMLSeq,
  path: string[],
  state: MergeState,
): boolean {
  const baseItems = Array.isArray(base) ? (base as unknown[]) : [];
  const items = [...current.items, ...generated.items] as Node[];
  if (
    items.every((item) => isScalar(item)) &&
    baseItems.every((item) => !isRecord(item) && !Array.isArray(item))
  ) {
    const currentValues = current.items.map((item) => toData(item as Node));
    for (const item of generated.items as Node[]) {
      const value = toData(item);
      const known = baseItems.some((candidate) => isDeepStrictEqual(candidate, value));
      if (!known && !currentValues.some((candidate) => isDeepStrictEqual(candidate, value))) {
        current.items.push(cloneNode(item));
        state.changed = true;
      }
    }
    const generatedValues = (generated.items as Node[]).map(toData);
    for (const value of baseItems) {
      if (generatedValues.some((candidate) => isDeepStrictEqual(candidate, value))) continue;
      const index = current.items.findIndex((item) => isDeepStrictEqual(toData(item as Node), value));
      if (index !== -1) {
        current.items.splice(index, 1);
        state.changed = true;
      }
    }
    return true;
  }
  const named = (list: unknown[]): boolean =>
    list.every((item) => isRecord(item) && typeof item.name === 'string');
  const currentData = current.items.map((item) => toData(item as Node));
  const generatedData = generated.items.map((item) => toData(item as Node));
  if (!named(currentData) || !named(generatedData) || !named(baseItems)) return false;
  const nameOf = (item: unknown): string => String((item as Record<string, unknown>).name);
  for (const item of generated.items as Node[]) {
    const name = nameOf(toData(item));
    const baseItem = baseItems.find((candidate) => nameOf(candidate) === name) ?? NO_BASE;
    const index = current.items.findIndex((candidate) => nameOf(toData(candidate as Node)) === name);
    const here = [...path.slice(0, -1), `${path.at(-1) ?? ''}[${name}]`];
    if (index === -1) {
      if (baseItem === NO_BASE) {
        current.items.push(cloneNode(item));
        state.changed = true;
      } else if (!isDeepStrictEqual(baseItem, toData(item))) {
        resolveLeaf(state, here, () => current.items.push(cloneNode(item)), 'removed by you');
      }
      continue;
    }
    mergeValue(
      current.items[index] as Node,
      (node) => (current.items[index] = node),
      baseItem,
      item,
      here,
      name,
      state,
    );
  }
  for (const baseItem of baseItems) {
    const name = nameOf(baseItem);
    if (generatedData.some((candidate) => nameOf(candidate) === name)) continue;
    const index = current.items.findIndex((candidate) => nameOf(toData(candidate as Node)) === name);
    if (index !== -1 && isDeepStrictEqual(toData(current.items[index] as Node), baseItem)) {
      current.items.splice(index, 1);
      state.changed = true;
    }
  }
  return true;
}

/** A value both sides changed: the user's stays (reported), unless the generated one is preferred. */
function resolveLeaf(state: MergeState, path: string[], takeGenerated: () => void, note?: string): void {
  const where = (path.join('.') || '(the whole document)') + (note ? ` (${note})` : '');
  if (state.preferGenerated) {
    takeGenerated();
    state.changed = true;
    state.overwritten.push(where);
  } else {
    state.kept.push(where);
  }
}

function keyOf(pair: Pair): string {
  const key = pair.key as Node | string | number | null;
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function findPair(map: YAMLMap, key: string): Pair | undefined {
  return map.items.find((pair) => isPair(pair) && keyOf(pair) === key);
}

function clonePair(pair: Pair): Pair {
  return pair.clone();
}

function cloneNode(node: Node | null): Node {
  return (node && typeof node === 'object' && 'clone' in node ? node.clone() : node) as Node;
}

function toData(node: Node | null | undefined): unknown {
  if (node === null || node === undefined) return null;
  return typeof node === 'object' && 'toJSON' in node ? (node as { toJSON: () => unknown }).toJSON() : node;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
