import type { GeneratorCommand } from '../../lib/command.js';

/** What `fastapi-forge add resource`, `list`, `--help` and `yo fastapi-forge:resource` say and take. */
const command: GeneratorCommand = {
  name: 'resource',
  description:
    'A resource in the SQL database: model, migration, schemas, repository, service, CRUD routes and tests',
  args: [
    {
      name: 'name',
      description: 'resource name, e.g. Order or OrderItem (none with --from-database)',
      optional: true,
    },
  ],
  options: [
    {
      flag: 'field',
      type: 'list',
      placeholder: 'name:type',
      description:
        'a field, name:type with ? for optional and ! for unique; types: str[:length], text, int, decimal, bool, datetime, date, uuid, enum(a,b), json; repeatable',
    },
    {
      flag: 'belongs-to',
      type: 'value',
      placeholder: 'resource',
      description: 'the resource it belongs to (many-to-one), in the same service',
    },
    {
      flag: 'service',
      type: 'value',
      placeholder: 'name',
      description: 'the service it lives in, inside a workspace (tier 2 or 3); required there',
    },
    {
      flag: 'from-database',
      type: 'value',
      placeholder: 'url',
      description:
        'resources from the tables of an existing PostgreSQL database, e.g. postgresql://user:password@host/shop',
    },
    {
      flag: 'table',
      type: 'list',
      placeholder: 'table',
      description:
        'with --from-database: a table to make a resource of; repeatable (default: ask, or all with --yes)',
    },
    {
      flag: 'owner',
      type: 'value',
      placeholder: 'subject',
      description:
        "with --from-database: the principal (a token's subject, an API key's client) the existing rows belong to",
    },
  ],
};

export default command;
