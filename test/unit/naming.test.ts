import { expect } from 'chai';
import { isForgeUserError } from '../../lib/errors.js';
import { toPackageName, toTitle, validateProjectName } from '../../lib/naming.js';

describe('project names', () => {
  it('derives the Python package from the project name', () => {
    expect(toPackageName('My-App.api')).to.equal('my_app_api');
    expect(validateProjectName('billing-service')).to.equal('billing_service');
    expect(toTitle('billing-service')).to.equal('Billing Service');
    // The longest accepted name.
    expect(validateProjectName('a'.repeat(40))).to.equal('a'.repeat(40));
  });

  const rejected: [string, RegExp][] = [
    ['', /project name is required/],
    ['   ', /project name is required/],
    ['my app!', /invalid project name "my app!"/],
    ['-leading', /invalid project name/],
    ['class', /Python keyword/],
    ['123', /not a valid identifier/],
    ['9lives', /not a valid identifier/],
    ['fastapi', /shadow a module/],
    ['tests', /shadow a module/],
    ['a'.repeat(41), /longer than 40 characters/],
    // Its package, `a_b`, is short: the project name is bounded on its own.
    [`a${'-'.repeat(39)}b`, /^project name "a-+b" is longer than 40 characters \(generated code spells it/],
  ];
  for (const [name, message] of rejected) {
    it(`rejects ${JSON.stringify(name)} with a one-line user error`, () => {
      let caught: unknown;
      try {
        validateProjectName(name);
      } catch (error) {
        caught = error;
      }
      expect(isForgeUserError(caught), 'a ForgeUserError').to.equal(true);
      const text = (caught as Error).message;
      expect(text).to.match(message);
      expect(text).not.to.include('\n');
    });
  }
});
