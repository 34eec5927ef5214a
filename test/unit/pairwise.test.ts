import { expect } from 'chai';
import fc from 'fast-check';
import { APP_TYPES, CHOICES, parseChoice, servesAgents } from '../../lib/config.js';
import { MAX_NAME_LENGTH, validateProjectName } from '../../lib/naming.js';
import { parseServicesFlag } from '../../lib/workspace.js';
import { AGENTS_OFF, TIER3_SERVICES, matrixDimensions, optionMatrix } from '../matrix/combinations.js';
import { type Dimension, type Row, allPairs } from '../matrix/pairwise.js';

/** Pairs of values no row holds, and values no row holds, found by brute force. */
function missing(dimensions: readonly Dimension[], rows: readonly Row[]): string[] {
  const gaps: string[] = [];
  dimensions.forEach((first, index) => {
    for (const a of first.values) {
      if (!rows.some((row) => row[first.name] === a)) gaps.push(`${first.name}=${String(a)}`);
      for (const second of dimensions.slice(index + 1)) {
        for (const b of second.values) {
          if (!rows.some((row) => row[first.name] === a && row[second.name] === b)) {
            gaps.push(`${first.name}=${String(a)} & ${second.name}=${String(b)}`);
          }
        }
      }
    }
  });
  return gaps;
}

const dimensionsArbitrary = fc
  .array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 })
  .map((sizes) =>
    sizes.map((size, index) => ({
      name: `d${index}`,
      values: Array.from({ length: size }, (_, value) => (index % 2 === 0 ? `v${value}` : value)),
    })),
  );

describe('pairwise option matrix', () => {
  it('covers every pair of values of any dimensions, each row holding one value per dimension', () => {
    fc.assert(
      fc.property(dimensionsArbitrary, (dimensions) => {
        const rows = allPairs(dimensions);
        expect(missing(dimensions, rows)).to.deep.equal([]);
        for (const row of rows) {
          for (const dimension of dimensions) expect(dimension.values).to.include(row[dimension.name]);
        }
        // Never more rows than the full product, never fewer than the two largest dimensions need.
        const sizes = dimensions.map((dimension) => dimension.values.length).sort((a, b) => b - a);
        const product = sizes.reduce((total, size) => total * size, 1);
        expect(rows.length).to.be.at.most(product);
        expect(rows.length).to.be.at.least((sizes[0] ?? 1) * (sizes[1] ?? 1));
      }),
      { numRuns: 200 },
    );
  });

  it('is deterministic and much smaller than the full product', () => {
    const dimensions = [3, 4, 4, 7, 4, 2].map((size, index) => ({
      name: `d${index}`,
      values: Array.from({ length: size }, (_, value) => value),
    }));
    const rows = allPairs(dimensions);
    expect(allPairs(dimensions)).to.deep.equal(rows);
    expect(missing(dimensions, rows)).to.deep.equal([]);
    // 2688 combinations; the pairs need at least 7 * 4 = 28 rows.
    expect(rows.length).to.be.within(28, 32);
  });

  it("takes its dimensions from the config's choice lists, every value of each", () => {
    const dimensions = matrixDimensions();
    const names = dimensions.map((dimension) => dimension.name);
    for (const spec of CHOICES) {
      if (spec.key === 'appType' || spec.key === 'agentSdk') continue;
      expect(names).to.include(spec.key);
      const kept = dimensions.find((dimension) => dimension.name === spec.key)?.values ?? [];
      for (const choice of spec.choices)
        expect(kept, `${spec.key}=${String(choice.value)}`).to.include(choice.value);
    }
    const agents = dimensions.find((dimension) => dimension.name === 'agents')?.values ?? [];
    const sdks = CHOICES.find((spec) => spec.key === 'agentSdk')?.choices.map((choice) => choice.value);
    expect(agents).to.include(AGENTS_OFF);
    for (const sdk of sdks ?? []) expect(agents, `agents=${String(sdk)}`).to.include(sdk);
  });

  it('turns every combination into valid CLI flags, every application type taking part', () => {
    const { dimensions, combinations } = optionMatrix();
    expect(
      missing(
        dimensions,
        combinations.map((combination) => combination.row),
      ),
    ).to.deep.equal([]);
    const appTypes = new Set<string>();
    for (const { flags, config, row } of combinations) {
      for (let index = 0; index < flags.length; index += 1) {
        const flag = flags[index] ?? '';
        const spec = CHOICES.find((candidate) => `--${candidate.flag}` === flag);
        if (spec) parseChoice(spec.key, flags[index + 1], flag);
      }
      appTypes.add(config.appType);
      expect(servesAgents(config.appType)).to.equal(row.agents !== AGENTS_OFF);
      expect(config.agents).to.equal(row.agents !== AGENTS_OFF);
    }
    expect([...appTypes].sort()).to.deep.equal([...APP_TYPES].sort());
    expect(new Set(combinations.map((combination) => combination.name)).size).to.equal(combinations.length);
  });

  it('names a tier-1 and a tier-3 combination as long as a name may be, the tier-3 one with such a service', () => {
    const long = optionMatrix().combinations.filter((combination) => combination.name.length > 5);
    expect(long.map((combination) => [combination.config.tier, combination.config.deploy])).to.deep.equal([
      [1, 'compose'],
      [3, 'compose'],
    ]);
    for (const { name, packageName, flags, config } of long) {
      expect(name).to.have.length(MAX_NAME_LENGTH);
      expect(validateProjectName(name)).to.equal(packageName);
      const services = flags.includes('--services')
        ? parseServicesFlag(flags[flags.indexOf('--services') + 1], packageName)
        : [];
      const expected = config.tier === 1 ? [] : [MAX_NAME_LENGTH, 'inventory'.length];
      expect(services.map((service) => service.length)).to.deep.equal(expected);
    }
  });

  it('gives tier-3 combinations services of other names, one of them a single service', () => {
    // The long-named tier-3 row has services of its own (the test above).
    const named = optionMatrix().combinations.filter(
      (combination) => combination.config.services && combination.name.length <= 5,
    );
    expect(named.map((combination) => combination.config.tier)).to.deep.equal(TIER3_SERVICES.map(() => 3));
    expect(named.map((combination) => combination.config.services)).to.deep.equal(TIER3_SERVICES);
    for (const { flags, config } of named) {
      expect(flags.slice(flags.indexOf('--services'))).to.deep.equal([
        '--services',
        config.services?.join(','),
      ]);
    }
  });
});
