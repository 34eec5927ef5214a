import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { expect } from 'chai';
import { CLI, makeTempDir } from '../helpers.js';
import {
  type BackgroundProcess,
  type RunningServer,
  UV,
  freePort,
  run,
  spawnInBackground,
  startServer,
} from './processes.js';
import { POSTGRES_SERVER, freshDatabase, migrateService } from './projects.js';

/**
 * Tier 3 under faults, as separate processes: two orders replicas and the gateway, two inventory consumers and
 * one orders consumer, on a Redis server of the test's own (AOF, fsync always) and the real PostgreSQL. While
 * clients write through the gateway, the test kills Redis and starts it again, cuts the inventory consumers'
 * database for longer than the retries of a bad event last (through a TCP proxy it controls), SIGKILLs an
 * inventory consumer, trims the stream under the consumers (EVENTS_STREAM_MAXLEN is small, and once by hand with
 * XTRIM), stops an orders replica, makes the server refuse the inventory database (ALLOW_CONNECTIONS false) for
 * longer than the retries of a bad event, and adds a few malformed events, one of them not UTF-8. Then, per read model, it counts what was written against what was
 * projected and reports lost, duplicated and dead-lettered events and the write-to-read-model lag.
 */
const FLAGS = ['--tier', '3', '--app-type', 'microservice', '--auth', 'none', '--db', 'postgres'];
const WRITERS = 2;
const LOAD_SECONDS = 24;
const POISON = 3;
const POISON_TEXT = '{"not": "an event"}';
// Bytes that are not UTF-8: a strict reader of the stream fails on them.
const NOT_UTF8 = Buffer.from([0xff, 0xfe, 0x80, ...Buffer.from('garbage')]);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function sql(database: string, query: string): string {
  const url = new URL(POSTGRES_SERVER);
  url.pathname = `/${database}`;
  return run('psql', [url.toString(), '-v', 'ON_ERROR_STOP=1', '-tAc', query], process.cwd()).output.trim();
}

const endSessions = (database: string): string =>
  `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '${database}'`;

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** A TCP proxy to PostgreSQL whose connections the test can cut: a database outage for whoever uses it. */
class CuttableProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private cut = false;
  port = 0;

  async start(target: { host: string; port: number }): Promise<void> {
    this.port = await freePort();
    this.server = createServer((client) => {
      if (this.cut) {
        client.destroy();
        return;
      }
      const upstream = connect(target.port, target.host);
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(from);
        from.pipe(to);
        from.on('error', () => to.destroy());
        from.on('close', () => {
          this.sockets.delete(from);
          to.destroy();
        });
      }
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
  }

  /** Drops every open connection and refuses new ones until `restore`. */
  cutOff(): void {
    this.cut = true;
    for (const socket of this.sockets) socket.destroy();
  }

  restore(): void {
    this.cut = false;
  }

  async close(): Promise<void> {
    this.cutOff();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** A redis-server of the test's own: it is killed and started again, with its AOF on disk. */
class OwnRedis {
  private process: BackgroundProcess | undefined;
  port = 0;
  private readonly dir = makeTempDir('fault-redis');

  get url(): string {
    return `redis://127.0.0.1:${this.port}/0`;
  }

  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    mkdirSync(this.dir, { recursive: true });
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', ''];
    this.process = spawnInBackground(
      'redis-server',
      [...args, '--appendonly', 'yes', '--appendfsync', 'always'],
      {
        cwd: this.dir,
        env: process.env,
      },
    );
    await waitFor('redis-server to answer', () => this.cli('ping') === 'PONG', 20_000);
  }

  async kill(): Promise<void> {
    const child = this.process?.process;
    if (!child || child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid, 'SIGKILL');
    await exited;
  }

  /** redis-cli's answer; empty while the server is down. `last` is sent as the last argument, as bytes. */
  cli(...args: string[]): string {
    return this.cliWith(undefined, ...args);
  }

  cliWith(last: Buffer | undefined, ...args: string[]): string {
    const result = spawnSync('redis-cli', ['-p', String(this.port), ...(last ? ['-x'] : []), ...args], {
      encoding: 'utf8',
      input: last,
    });
    return result.status === 0 ? result.stdout.trim() : '';
  }
}

describe('tier 3 under faults: no write and no event lost', function () {
  this.timeout(10 * 60_000);
  let root: string;
  const redis = new OwnRedis();
  const proxy = new CuttableProxy();
  let ordersDb: ReturnType<typeof freshDatabase>;
  let inventoryDb: ReturnType<typeof freshDatabase>;
  const servers: RunningServer[] = [];
  const consumers: BackgroundProcess[] = [];

  const common = (): Record<string, string> => ({
    ENVIRONMENT: 'development',
    REDIS_URL: redis.url,
    EVENTS_PREFIX: 'faults',
    RATE_LIMIT: '100000/minute',
    // Trimmed under the consumers while they are held up: what they lose is replayed from the outbox.
    EVENTS_STREAM_MAXLEN: '40',
    EVENTS_CLAIM_IDLE_SECONDS: '2',
    EVENTS_RETRY_BASE_SECONDS: '0.2',
    EVENTS_RETRY_MAX_SECONDS: '1',
    // A bad event is given up after about a second: far shorter than the database outage below.
    EVENTS_MAX_ATTEMPTS: '3',
    OUTBOX_POLL_SECONDS: '0.2',
    REDIS_TIMEOUT_SECONDS: '0.5',
  });

  const startConsumer = (service: 'orders' | 'inventory', database: string): BackgroundProcess => {
    const consumer = spawnInBackground(UV, ['run', '--no-sync', 'python', '-m', `${service}.consumer`], {
      cwd: path.join(root, 'services', service),
      env: {
        ...process.env,
        VIRTUAL_ENV: '',
        ...common(),
        [`${service.toUpperCase()}_DATABASE_URL`]: database,
        EVENTS_CONSUMER_NAME: `${service}-consumer`,
        // Several consumers of one service run on this host: each takes a free port for its probes.
        EVENTS_CONSUMER_PORT: '0',
      },
    });
    consumers.push(consumer);
    return consumer;
  };

  before(async () => {
    root = path.join(makeTempDir('faults'), 'shop');
    run(
      process.execPath,
      [CLI, 'new', 'shop', ...FLAGS, '--yes', '--skip-install', '--path', path.dirname(root)],
      process.cwd(),
    );
    run(UV, ['sync', '--all-packages', '--quiet'], root);
    await redis.start();
    const server = new URL(POSTGRES_SERVER);
    await proxy.start({ host: server.hostname, port: Number(server.port || 5432) });
    ordersDb = freshDatabase('faults_orders');
    inventoryDb = freshDatabase('faults_inventory');
    migrateService(root, 'orders', ordersDb.url);
    migrateService(root, 'inventory', inventoryDb.url);
  });

  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const member of [...consumers, ...servers])
      console.log(member.logs().split('\n').slice(-15).join('\n'));
  });

  after(async () => {
    for (const consumer of consumers) await consumer.stop();
    for (const server of servers) await server.stop();
    await redis.kill();
    await proxy.close();
    ordersDb?.drop();
    inventoryDb?.drop();
  });

  it('projects every accepted write once through a Redis kill, a database outage, a SIGKILL, trims and a stopped replica', async () => {
    const startOrders = (): Promise<RunningServer> =>
      startServer(path.join(root, 'services/orders'), 'orders', {
        ...common(),
        ORDERS_DATABASE_URL: ordersDb.url,
      });
    const [ordersA, ordersB] = await Promise.all([startOrders(), startOrders()]);
    servers.push(ordersA, ordersB);
    const gateway = await startServer(path.join(root, 'gateway'), 'shop_gateway', {
      ...common(),
      ORDERS_URL: ordersA.baseUrl,
      INVENTORY_URL: `http://127.0.0.1:${await freePort()}`,
    });
    servers.push(gateway);
    // The inventory consumers reach their database through the proxy; the orders consumer directly.
    const viaProxy = inventoryDb.url.replace(/@[^/]+\//, `@127.0.0.1:${proxy.port}/`);
    const victim = startConsumer('inventory', viaProxy);
    startConsumer('inventory', viaProxy);
    startConsumer('orders', ordersDb.url);
    // The load and the faults begin once all three consumers are reading.
    await waitFor(
      'the consumers to start',
      () => consumers.every((consumer) => consumer.logs().includes('stream_consumer_started')),
      60_000,
    );

    const accepted = new Map<string, number>();
    const refused: number[] = [];
    let writing = true;
    const writer = async (): Promise<void> => {
      let n = 0;
      while (writing) {
        const response = await fetch(`${gateway.baseUrl}/orders/items`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ name: `item ${n++}` }),
        }).catch(() => undefined);
        if (response?.status === 201)
          accepted.set(((await response.json()) as { id: string }).id, Date.now());
        else refused.push(response?.status ?? 0);
        await sleep(40);
      }
    };
    const writers = Array.from({ length: WRITERS }, writer);
    const at = (seconds: number): Promise<void> => sleep(seconds * 1000);

    const faults = (async () => {
      await at(3);
      console.log(`      t=3s  Redis killed (SIGKILL), ${accepted.size} writes so far`);
      await redis.kill();
      await at(5);
      await redis.start();
      console.log('      t=8s  Redis started again from its AOF');
      proxy.cutOff();
      console.log('      t=8s  the inventory consumers lose their database');
      await at(2);
      process.kill(-(victim.process.pid ?? 0), 'SIGKILL');
      consumers.splice(consumers.indexOf(victim), 1);
      console.log('      t=10s an inventory consumer SIGKILLed (its pending events are taken over)');
      for (let poison = 0; poison < POISON; poison++) {
        redis.cli('xadd', 'faults:stream:orders', '*', 'event', POISON_TEXT);
      }
      redis.cliWith(NOT_UTF8, 'xadd', 'faults:stream:orders', '*', 'event');
      await at(2);
      // By hand, behind the relays' backs: the inventory group, held up, loses entries it had not handled.
      redis.cli('xtrim', 'faults:stream:orders', 'MAXLEN', '5');
      console.log('      t=12s the stream trimmed to 5 entries by hand (XTRIM)');
      await at(4);
      proxy.restore();
      startConsumer('inventory', viaProxy);
      console.log('      t=16s the inventory database is back, a new inventory consumer started');
      await at(2);
      await ordersB.stop();
      servers.splice(servers.indexOf(ordersB), 1);
      console.log('      t=18s orders replica B stopped (SIGTERM)');
      await at(1);
      sql('postgres', `ALTER DATABASE "${inventoryDb.name}" ALLOW_CONNECTIONS false`);
      sql('postgres', endSessions(inventoryDb.name));
      console.log('      t=19s the inventory database refuses connections (SQLSTATE 55000)');
      await at(4);
      sql('postgres', `ALTER DATABASE "${inventoryDb.name}" ALLOW_CONNECTIONS true`);
      console.log('      t=23s the inventory database accepts connections again');
    })();
    await at(LOAD_SECONDS);
    writing = false;
    await Promise.all([...writers, faults]);
    const written = [...accepted.keys()];
    console.log(
      `      ${written.length} writes accepted, ${refused.length} refused (${[...new Set(refused)].join(', ')})`,
    );

    const count = (database: string): number => Number(sql(database, 'SELECT count(*) FROM item_views'));
    const state = (): string =>
      `inventory ${count(inventoryDb.name)}, orders ${count(ordersDb.name)} of ${written.length}; ` +
      `unpublished ${sql(ordersDb.name, 'SELECT count(*) FROM outbox WHERE published_at IS NULL')}; ` +
      `gaps ${redis.cli('xlen', 'faults:stream:orders:gaps')}; replay ${['inventory', 'orders']
        .map((group) => redis.cli('xlen', `faults:stream:orders:replay:${group}`))
        .join('/')}; pending ${['inventory', 'orders']
        .map((group) => redis.cli('xpending', 'faults:stream:orders', group).split('\n')[0])
        .join('/')}`;
    try {
      await waitFor(
        'every accepted write to be projected in both read models',
        () => count(inventoryDb.name) >= written.length && count(ordersDb.name) >= written.length,
        60_000,
      );
    } finally {
      console.log(`      ${state()}`);
    }
    // Left running a moment longer: a late duplicate would show now.
    await sleep(2000);

    const writtenIds = new Set(written);
    for (const [model, database] of [
      ['inventory', inventoryDb.name],
      ['orders', ordersDb.name],
    ] as const) {
      const ids = sql(database, "SELECT id FROM item_views WHERE source = '/orders'")
        .split('\n')
        .filter(Boolean);
      const counted = Number(sql(database, "SELECT items FROM item_counts WHERE source = '/orders'"));
      const lost = written.filter((id) => !ids.includes(id)).length;
      const unknown = ids.filter((id) => !writtenIds.has(id)).length;
      // item_counts is an increment per applied event: an event applied twice shows here.
      const duplicated = counted - ids.length;
      const lags = sql(
        database,
        'SELECT extract(epoch FROM p.processed_at - v.created_at) * 1000 FROM item_views v ' +
          'JOIN processed_events p ON p.event_id = v.event_id ORDER BY 1',
      )
        .split('\n')
        .map(Number);
      const percentile = (p: number): number =>
        Math.round(lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] ?? Number.NaN);
      console.log(
        `      ${model} read model: written ${written.length}, projected ${ids.length}, lost ${lost}, ` +
          `duplicated ${duplicated}, lag p50 ${percentile(0.5)} ms, p99 ${percentile(0.99)} ms`,
      );
      expect({ lost, unknown, duplicated }, model).to.deep.equal({ lost: 0, unknown: 0, duplicated: 0 });
    }
    // Every dead letter is one of the malformed entries (in either group, unless trimmed before it was
    // read: they are in no outbox to be replayed from); no real event was dead-lettered.
    const deadEntries = redis.cli('xrange', 'faults:stream:orders:dead', '-', '+').split('\n');
    const dead = deadEntries.filter((line) => line === POISON_TEXT || line.endsWith('garbage')).length;
    const realDead = deadEntries.filter((line) => line.includes('specversion')).length;
    const logs = ordersA.logs() + ordersB.logs();
    const mentions = (line: string): number => logs.split(`"${line}"`).length - 1;
    console.log(
      `      dead-lettered: ${dead} malformed entries, ${realDead} real events; trims that cost a group ` +
        `entries: ${mentions('stream_trimmed_before_delivery')}, by hand: ` +
        `${mentions('stream_trimmed_elsewhere_before_delivery')}, replays from the outbox: ${mentions('events_replayed')}`,
    );
    expect(mentions('stream_trimmed_elsewhere_before_delivery')).to.be.at.least(
      1,
      'the trim by hand is seen',
    );
    expect(realDead).to.equal(0, 'no real event dead-lettered');
    expect(dead).to.be.within(1, (POISON + 1) * 2);
    expect(refused).to.deep.equal([], 'every write through the gateway succeeded');
  });
});
