import { expect } from 'chai';
import { CHOICES, defaultChoices, parseChoice, validateStoredConfig } from '../../lib/config.js';

describe('config schema', () => {
  it("uses the spec's defaults table", () => {
    expect(defaultChoices()).to.deep.equal({
      appType: 'agents',
      tier: 1,
      db: 'postgres',
      auth: 'jwt',
      agentSdk: 'anthropic',
      deploy: 'compose',
    });
  });

  it('asks the required clarifications before the optional ones', () => {
    const required = CHOICES.filter((spec) => spec.required).map((spec) => spec.key);
    expect(required).to.deep.equal(['appType', 'tier', 'db']);
  });

  it('parses tier flags as numbers and rejects unknown values', () => {
    expect(parseChoice('tier', '2', '--tier')).to.equal(2);
    expect(() => parseChoice('tier', '4', '--tier')).to.throw(/expected one of 1, 2, 3/);
    expect(() => parseChoice('db', 'mysql', '--db')).to.throw(/invalid --db "mysql" for database/);
  });

  it('validates values stored in .yo-rc.json', () => {
    expect(validateStoredConfig({ auth: 'jwt', custom: 1 }, '.yo-rc.json')).to.deep.equal({
      auth: 'jwt',
      custom: 1,
    });
    expect(() => validateStoredConfig({ auth: 'basic' }, '.yo-rc.json')).to.throw(/\.yo-rc\.json.*"basic"/);
    expect(() => validateStoredConfig({ projectName: 'my app!' }, '.yo-rc.json')).to.throw(
      /invalid project name/,
    );
    expect(() => validateStoredConfig({ services: 'a' }, '.yo-rc.json')).to.throw(/services must be a list/);
    expect(() => validateStoredConfig([], '.yo-rc.json')).to.throw(/must be an object/);
    const grown = { orders: { revision: '0007', downRevision: '0006', readModels: ['Customer'] } };
    expect(validateStoredConfig({ eventsRevisions: grown }, '.yo-rc.json')).to.deep.equal({
      eventsRevisions: grown,
    });
    for (const eventsRevisions of [
      [],
      { orders: { revision: '0007' } },
      { orders: { ...grown.orders, readModels: [1] } },
    ])
      expect(() => validateStoredConfig({ eventsRevisions }, '.yo-rc.json')).to.throw(
        /^\.yo-rc\.json: eventsRevisions must map each service to/,
      );
  });
});
