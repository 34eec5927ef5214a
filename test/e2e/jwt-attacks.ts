import { createHmac, createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { type FakeIdentityProvider, nowSeconds, randomSecret, signJwt } from './fakes.js';

/**
 * Attacks on bearer-token authentication, each to be answered 401 in the shared error shape with a
 * WWW-Authenticate challenge. Tokens are minted here with Node's crypto, never with the project's code.
 */

type Claims = Record<string, unknown>;

/** The token settings of a served project: an HS256 secret (`jwt`), or an OpenID provider (`oidc`). */
export type JwtTarget =
  | { kind: 'jwt'; secret: string; issuer: string; audience: string }
  | { kind: 'oidc'; provider: FakeIdentityProvider; audience: string };

export interface AttackCase {
  name: string;
  headers: Record<string, string>;
  /** Appended to the route, e.g. a token in the query string. */
  query?: string;
  /** Refused before any credential check: this status, in the error shape, with no challenge. */
  refusedAs?: number;
}

const encode = (part: unknown): string => Buffer.from(JSON.stringify(part)).toString('base64url');

/** A token with any header, signed by `sign` over `<header>.<claims>` (no signature when it is omitted). */
function mint(header: Claims, claims: Claims, sign?: (input: string) => Buffer): string {
  const input = `${encode(header)}.${encode(claims)}`;
  return `${input}.${sign ? sign(input).toString('base64url') : ''}`;
}

const hmac = (key: string) => (input: string) => createHmac('sha256', key).update(input).digest();
const rsa = (key: KeyObject) => (input: string) => createSign('RSA-SHA256').update(input).sign(key);

/** Claims the project accepts: the right issuer and audience, valid from now for `seconds`. */
export function validClaims(target: JwtTarget, seconds = 300): Claims {
  const issuer = target.kind === 'jwt' ? target.issuer : target.provider.issuer;
  return {
    sub: 'attack-test',
    iss: issuer,
    aud: target.audience,
    iat: nowSeconds(),
    exp: nowSeconds() + seconds,
  };
}

/** A token the project accepts. */
export function validToken(target: JwtTarget, claims: Claims = validClaims(target)): string {
  return target.kind === 'jwt' ? signJwt(claims, { secret: target.secret }) : target.provider.sign(claims);
}

const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

export function jwtAttacks(target: JwtTarget): AttackCase[] {
  const claims = validClaims(target);
  const valid = validToken(target, claims);
  const now = nowSeconds();
  const { privateKey: otherKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const kid = target.kind === 'oidc' ? target.provider.kid : undefined;
  const signedWithClaims = (changed: Claims): string => validToken(target, { ...claims, ...changed });
  const [header, , signature] = valid.split('.');

  const cases: AttackCase[] = [
    { name: 'no Authorization header', headers: {} },
    ...['none', 'None', 'NONE'].map((alg) => ({
      name: `alg ${alg}, no signature`,
      headers: bearer(mint({ alg, typ: 'JWT', ...(kid ? { kid } : {}) }, claims)),
    })),
    {
      name: 'the right header and claims with the signature stripped',
      headers: bearer(`${header}.${encode(claims)}.`),
    },
    {
      name: 'tampered payload (sub changed after signing)',
      headers: bearer(`${header}.${encode({ ...claims, sub: 'admin' })}.${signature}`),
    },
    {
      name: 'tampered signature',
      headers: bearer(
        `${header}.${encode(claims)}.${Buffer.from(randomSecret(), 'hex').toString('base64url')}`,
      ),
    },
    { name: 'expired an hour ago', headers: bearer(signedWithClaims({ iat: now - 7200, exp: now - 3600 })) },
    { name: 'not valid for another hour (nbf)', headers: bearer(signedWithClaims({ nbf: now + 3600 })) },
    { name: 'issued an hour from now (iat)', headers: bearer(signedWithClaims({ iat: now + 3600 })) },
    { name: 'wrong audience', headers: bearer(signedWithClaims({ aud: 'another-service' })) },
    { name: 'wrong issuer', headers: bearer(signedWithClaims({ iss: 'https://attacker.example.com' })) },
    { name: 'no exp claim', headers: bearer(validToken(target, { ...claims, exp: undefined })) },
    { name: 'no sub claim', headers: bearer(validToken(target, { ...claims, sub: undefined })) },
    { name: 'scheme only: "Bearer"', headers: { authorization: 'Bearer' } },
    { name: 'two segments: "Bearer x.y"', headers: { authorization: 'Bearer x.y' } },
    { name: 'three garbage segments', headers: { authorization: 'Bearer x.y.z' } },
    { name: 'Basic credentials', headers: { authorization: 'Basic dXNlcjpwYXNzd29yZA==' } },
    { name: 'garbage', headers: { authorization: '%%%not a credential%%%' } },
    {
      // Over MAX_HEADER_BYTES: never parsed, let alone verified.
      name: 'a 16 KB token',
      headers: bearer(`${'a'.repeat(6000)}.${'b'.repeat(6000)}.${'c'.repeat(4000)}`),
      refusedAs: 431,
    },
    { name: 'the valid token and trailing text', headers: { authorization: `Bearer ${valid} extra` } },
    { name: 'the valid token in the "Token" scheme', headers: { authorization: `Token ${valid}` } },
    { name: 'the valid token in the Basic scheme', headers: { authorization: `Basic ${valid}` } },
    { name: 'the valid token without a scheme', headers: { authorization: valid } },
    { name: 'the valid token in the query string', headers: {}, query: `?access_token=${valid}` },
  ];

  if (target.kind === 'jwt') {
    cases.push(
      { name: 'signed with another secret', headers: bearer(signJwt(claims, { secret: randomSecret() })) },
      {
        name: 'RS256 (a public-key algorithm the HS256 app does not accept)',
        headers: bearer(mint({ alg: 'RS256', typ: 'JWT', kid: 'attacker' }, claims, rsa(otherKey))),
      },
      {
        name: 'HS512 with the right secret (an algorithm not configured)',
        headers: bearer(
          mint({ alg: 'HS512', typ: 'JWT' }, claims, (input) =>
            createHmac('sha512', target.secret).update(input).digest(),
          ),
        ),
      },
    );
  } else {
    cases.push(
      {
        name: "HS256 signed with the provider's public key as the secret (algorithm confusion)",
        headers: bearer(mint({ alg: 'HS256', typ: 'JWT', kid }, claims, hmac(target.provider.publicKeyPem))),
      },
      {
        name: "another RSA key under the provider's key id",
        headers: bearer(mint({ alg: 'RS256', typ: 'JWT', kid }, claims, rsa(otherKey))),
      },
      {
        name: 'another RSA key under an unknown key id',
        headers: bearer(mint({ alg: 'RS256', typ: 'JWT', kid: 'unknown-key' }, claims, rsa(otherKey))),
      },
      {
        name: 'a key embedded in the header (jwk)',
        headers: bearer(
          mint({ alg: 'RS256', typ: 'JWT', jwk: otherKey.export({ format: 'jwk' }) }, claims, rsa(otherKey)),
        ),
      },
    );
  }
  return cases;
}

export interface AttackOutcome {
  name: string;
  problems: string[];
}

/** Sends every attack to `route` (a POST with a JSON body) and reports each answer that is not a proper 401. */
export async function runJwtAttacks(
  baseUrl: string,
  route: string,
  body: unknown,
  cases: AttackCase[],
): Promise<AttackOutcome[]> {
  const outcomes: AttackOutcome[] = [];
  for (const attack of cases) {
    const response = await fetch(`${baseUrl}${route}${attack.query ?? ''}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...attack.headers },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    const problems: string[] = [];
    const expected = attack.refusedAs ?? 401;
    if (response.status !== expected) problems.push(`status ${response.status}: ${text.slice(0, 300)}`);
    const challenge = response.headers.get('www-authenticate') ?? '';
    if (expected === 401 && !/^Bearer realm="/.test(challenge)) {
      problems.push(`WWW-Authenticate is ${JSON.stringify(challenge)}`);
    }
    let error: Record<string, unknown> = {};
    try {
      error = JSON.parse(text) as Record<string, unknown>;
    } catch {
      problems.push(`the body is not JSON: ${text.slice(0, 300)}`);
    }
    for (const key of ['code', 'message', 'details', 'request_id', 'retryable']) {
      if (!(key in error)) problems.push(`the error has no ${key}: ${text.slice(0, 300)}`);
    }
    if (error.retryable !== false && 'retryable' in error) problems.push('a refusal is marked retryable');
    if (error.request_id !== response.headers.get('x-request-id')) {
      problems.push('the error request_id differs from X-Request-ID');
    }
    const credential = Object.values(attack.headers).join(' ');
    if (credential.length > 20 && text.includes(credential.split(' ').pop() ?? credential)) {
      problems.push('the answer echoes the credential');
    }
    outcomes.push({ name: attack.name, problems });
  }
  return outcomes;
}
