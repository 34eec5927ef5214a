import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { expect } from 'chai';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { randomSecret } from './fakes.js';
import { freePort, run, type RunningServer, startServer, UV } from './processes.js';
import { freshDatabase, generateProject } from './projects.js';

/**
 * A generated project (JWT with stored users, PostgreSQL, agents with the local model) driven by Debian's
 * headless Chromium, as a browser user would drive it: the API docs with no network beyond this machine,
 * Swagger UI's Authorize, and pages on other origins that stream a run over EventSource and WebSocket with
 * single-use tickets, and call the API with fetch under CORS. One project, one install, one server.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PACKAGE = 'browser_app';
const PASSWORD = 'correct horse battery staple';

/** A blank page served on its own loopback origin, where the page's scripts run. */
async function startOrigin(): Promise<{ origin: string; server: Server }> {
  const port = await freePort();
  const server = createServer((_, response) => {
    response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>page</title>');
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${port}`, server };
}

const isLoopback = (url: string): boolean =>
  ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);

describe('browser clients (headless Chromium)', function () {
  let dir: string;
  let api: RunningServer;
  let database: ReturnType<typeof freshDatabase>;
  let browser: Browser;
  let context: BrowserContext;
  let allowed: { origin: string; server: Server };
  let other: { origin: string; server: Server };
  let token: string;
  /** Requests the pages tried to send off this machine: all of them are refused. */
  const offMachine: string[] = [];

  before(async function () {
    dir = generateProject('browser-app', [
      '--agent-sdk',
      'none',
      '--db',
      'postgres',
      '--auth',
      'jwt',
      '--examples',
    ]);
    run(UV, ['sync', '--quiet'], dir);
    database = freshDatabase('browser');
    allowed = await startOrigin();
    other = await startOrigin();
    const env = {
      DATABASE_URL: database.url,
      JWT_SECRET: randomSecret(),
      JWT_ISSUER: 'https://issuer.browser.test',
      CORS_ORIGINS: allowed.origin,
      RATE_LIMIT_PREFIX: `browser-${randomSecret().slice(0, 12)}`,
      LOG_JSON: 'true',
    };
    run(UV, ['run', '--no-sync', 'alembic', 'upgrade', 'head'], dir, env);
    const created = spawnSync(
      UV,
      [
        'run',
        '--no-sync',
        'python',
        '-m',
        `${PACKAGE}.users_cli`,
        'create-user',
        'alice',
        '--password-stdin',
      ],
      { cwd: dir, env: { ...process.env, ...env }, input: PASSWORD, encoding: 'utf8' },
    );
    expect(created.status, `${created.stdout}${created.stderr}`).to.equal(0);
    api = await startServer(dir, PACKAGE, env);
    const issued = await fetch(`${api.baseUrl}/auth/token`, {
      method: 'POST',
      body: new URLSearchParams({ username: 'alice', password: PASSWORD }),
    });
    expect(issued.status, await issued.clone().text()).to.equal(200);
    token = ((await issued.json()) as { access_token: string }).access_token;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    context = await browser.newContext();
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (isLoopback(url)) return route.continue();
      offMachine.push(url);
      return route.abort('internetdisconnected');
    });
  });

  after(async function () {
    await browser?.close();
    await api?.stop();
    allowed?.server.close();
    other?.server.close();
    database?.drop();
  });

  async function pageAt(url: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto(url);
    return page;
  }

  it('renders /docs and /redoc with nothing loaded from off this machine', async function () {
    const docs = await pageAt(`${api.baseUrl}/docs`);
    await docs.locator('.swagger-ui .information-container .title').waitFor({ timeout: 30_000 });
    expect(await docs.locator('.opblock').count()).to.be.greaterThan(5);
    const redoc = await pageAt(`${api.baseUrl}/redoc`);
    await redoc.locator('.api-content h1').first().waitFor({ timeout: 30_000 });
    expect(offMachine).to.deep.equal([]);
    await docs.close();
    await redoc.close();
  });

  it('signs in through Swagger UI with the password flow, then a protected call answers 200', async function () {
    const docs = await pageAt(`${api.baseUrl}/docs`);
    await docs.locator('button.authorize').first().click();
    // Stored users: the scheme is OAuth2's password flow, so Swagger UI asks for a user name and password
    // and exchanges them at the scheme's token URL itself.
    await docs.locator('.modal-ux #oauth_username').fill('alice');
    await docs.locator('.modal-ux #oauth_password').fill(PASSWORD);
    const exchanged = docs.waitForResponse((response) => response.url().endsWith('/auth/token'));
    await docs.locator('.modal-ux button.authorize').first().click();
    expect((await exchanged).status()).to.equal(200);
    await docs.locator('.modal-ux button.btn-done').first().click();
    const operation = docs.locator('#operations-users-users-read-current-user');
    await operation.locator('.opblock-summary').click();
    await operation.locator('button.try-out__btn').click();
    const answered = docs.waitForResponse((response) => response.url().endsWith('/users/me'));
    await operation.locator('button.execute').click();
    const response = await answered;
    expect(response.status()).to.equal(200);
    expect(response.request().headers().authorization).to.match(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    expect(((await response.json()) as { username: string }).username).to.equal('alice');
    await docs.close();
  });

  /** Runs in a page on `origin`: asks the API for a ticket with the bearer token. */
  const TICKET = `async (api, token, path) => {
    const response = await fetch(api + "/auth/tickets", {
      method: "POST",
      headers: { Authorization: "Bearer " + token, "Content-Type": "application/json" },
      body: JSON.stringify({ path }),
    });
    if (response.status !== 201) throw new Error("ticket: " + response.status);
    return (await response.json()).ticket;
  }`;

  it("streams an agent run to a page's EventSource with a ticket", async function () {
    const page = await pageAt(allowed.origin);
    const events = await page.evaluate(
      async ([api, bearer, ticketFor]) => {
        const ticket = await (0, eval)(ticketFor)(api, bearer, '/agents/run/stream');
        const url = `${api}/agents/run/stream?input=${encodeURIComponent('What is 6 * 7?')}&ticket=${ticket}`;
        return new Promise<{ types: string[]; output: string }>((resolve, reject) => {
          const source = new EventSource(url);
          const types: string[] = [];
          for (const type of ['tool_call', 'tool_result', 'token']) {
            source.addEventListener(type, () => types.push(type));
          }
          source.addEventListener('result', (event) => {
            source.close();
            resolve({ types, output: JSON.parse((event as MessageEvent).data as string).result.output });
          });
          source.onerror = () => {
            source.close();
            reject(new Error('EventSource failed'));
          };
        });
      },
      [api.baseUrl, token, TICKET] as const,
    );
    expect(events.output).to.equal('The result is 42.');
    expect(events.types.slice(0, 2)).to.deep.equal(['tool_call', 'tool_result']);
    expect(events.types).to.include('token');
    await page.close();
  });

  it("runs an agent over a page's WebSocket with a ticket", async function () {
    const page = await pageAt(allowed.origin);
    const messages = await page.evaluate(
      async ([api, bearer, ticketFor]) => {
        const ticket = await (0, eval)(ticketFor)(api, bearer, '/agents/ws');
        const socket = new WebSocket(`${api.replace(/^http/, 'ws')}/agents/ws?ticket=${ticket}`);
        return new Promise<string[]>((resolve, reject) => {
          const types: string[] = [];
          socket.onopen = () => socket.send(JSON.stringify({ type: 'run', input: 'What is 6 * 7?' }));
          socket.onmessage = (event) => {
            const message = JSON.parse(event.data as string) as { type: string; result?: { output: string } };
            types.push(message.type === 'result' ? `result: ${message.result?.output}` : message.type);
            if (message.type === 'result' || message.type === 'error') {
              socket.close();
              resolve(types);
            }
          };
          socket.onclose = (event) => reject(new Error(`closed with ${event.code}`));
        });
      },
      [api.baseUrl, token, TICKET] as const,
    );
    expect(messages[0]).to.equal('run_started');
    expect(messages.at(-1)).to.equal('result: The result is 42.');
    await page.close();
  });

  it('lets a page on an allowed origin call the API with fetch, and blocks one on another origin', async function () {
    const call = `async ([api, bearer]) => {
      try {
        const response = await fetch(api + "/echo", {
          method: "POST",
          headers: { Authorization: "Bearer " + bearer, "Content-Type": "application/json" },
          body: JSON.stringify({ message: "hello" }),
        });
        return { status: response.status, body: await response.json() };
      } catch (error) {
        return { blocked: String(error) };
      }
    }`;
    const results: Record<string, unknown> = {};
    for (const [name, origin] of [
      ['allowed', allowed.origin],
      ['other', other.origin],
    ] as const) {
      const page = await pageAt(origin);
      results[name] = await page.evaluate(([source, args]) => (0, eval)(source)(args) as Promise<unknown>, [
        call,
        [api.baseUrl, token],
      ] as const);
      await page.close();
    }
    expect(results.allowed).to.deep.include({ status: 200 });
    expect((results.allowed as { body: { message: string } }).body.message).to.equal('hello');
    expect(results.other)
      .to.have.property('blocked')
      .that.matches(/Failed to fetch/);
  });
});
