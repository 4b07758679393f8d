import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ANONYMOUS, type Principal, type Role } from './access.js';
import { ConflictError, NotFoundError } from './errors.js';
import type { Page, PageTokens } from './page-token.js';
import type { RegistryStore, TokenRecord } from './store.js';

/**
 * Every secret starts with this, so secret scanners (and people) recognise a leaked one, and
 * anything else can be refused without asking the database.
 */
export const TOKEN_PREFIX = 'ccr_';

/** 256 random bits, base64url: 43 characters after the prefix. */
const SECRET_BYTES = 32;
const SECRET_PATTERN = /^ccr_[A-Za-z0-9_-]{43}$/;

/** The name the bootstrap admin token (REGISTRY_ADMIN_TOKEN) acts under; no stored token may take it. */
export const BOOTSTRAP_ADMIN_NAME = 'admin';

/** Token names: what versions record as `updatedBy`. Lowercase, like config names; `@` allowed for e-mail-like names. */
export const TOKEN_NAME_PATTERN = '^[a-z0-9]([a-z0-9._@-]{0,62}[a-z0-9])?$';

const RESERVED_NAMES = new Set([BOOTSTRAP_ADMIN_NAME, ANONYMOUS]);

const BOOTSTRAP_ADMIN: Principal = Object.freeze({ kind: 'token', name: BOOTSTRAP_ADMIN_NAME, role: 'admin' });

/** Presented secrets whose digest is remembered (see TokensService.digestOf). */
const DIGEST_MEMO_ENTRIES = 256;

/**
 * How long a replica trusts its last answer to "does any token exist?". Only anonymous requests
 * ask (a presented token is always looked up by its hash, so a token made on one replica works on
 * every other at once, and a revoked one stops at once). The cost of the cache: for up to this
 * long after the very first token is created on another replica, this one still serves anonymous
 * callers as an open registry; the replica that created it switches at once. Without the cache
 * every anonymous request would cost a query.
 */
export const AUTH_STATE_TTL_MS = 1000;

/** Lowercase hex SHA-256 of a secret: what is stored, and what a presented secret is looked up by. */
export function hashSecret(secret: string): string {
  return hash('sha256', secret, 'hex');
}

export interface NewToken {
  name: string;
  role: Role;
}

export interface TokensOptions {
  /** The bootstrap admin secret (REGISTRY_ADMIN_TOKEN), if configured. Never stored. */
  adminSecret?: string;
  /** Milliseconds since some epoch, for the auth-state cache (tests may drive it). */
  clock?: () => number;
}

/**
 * API tokens: create (the secret is returned this once), list, revoke, and authenticate a
 * presented secret.
 *
 * Why SHA-256 and not bcrypt/argon2: those are deliberately slow so that guessing a *password*
 * (a few dozen bits of human-chosen entropy) from a stolen hash is expensive. Our secrets are 256
 * random bits made here; no hash speed makes 2^256 guesses feasible. A fast unsalted hash also
 * lets a presented secret be found with one indexed lookup, where a salted slow hash would mean
 * checking it against every stored token, slowly, on every request.
 */
export class TokensService {
  private readonly adminSecretDigest: Buffer | undefined;
  private readonly digests = new Map<string, Buffer>();
  private readonly clock: () => number;
  private authState: { required: boolean; until: number } | undefined;
  private authStateLoading: Promise<boolean> | undefined;

  constructor(
    private readonly store: RegistryStore,
    private readonly pageTokens: PageTokens,
    private readonly now: () => Date = () => new Date(),
    options: TokensOptions = {},
  ) {
    this.adminSecretDigest =
      options.adminSecret === undefined ? undefined : hash('sha256', options.adminSecret, 'buffer');
    this.clock = options.clock ?? (() => performance.now());
  }

  /** A bootstrap admin token is configured. */
  get hasAdminSecret(): boolean {
    return this.adminSecretDigest !== undefined;
  }

  /**
   * Creates a token and returns it with its secret, which is not kept and cannot be shown again.
   * Without a bootstrap admin token, the first token must be an admin one (and the last admin
   * token cannot be revoked): otherwise nobody could ever manage tokens again.
   */
  async create(input: NewToken, createdBy: string): Promise<{ record: TokenRecord; secret: string }> {
    if (RESERVED_NAMES.has(input.name)) {
      throw new ConflictError(`The token name '${input.name}' is reserved.`);
    }
    if (!this.hasAdminSecret && input.role !== 'admin' && (await this.store.countTokens()).admins === 0) {
      throw new ConflictError(
        'No admin token exists and REGISTRY_ADMIN_TOKEN is not set: create an admin token first, ' +
          'or nobody could manage tokens afterwards.',
      );
    }
    const secret = TOKEN_PREFIX + randomBytes(SECRET_BYTES).toString('base64url');
    const record: TokenRecord = {
      name: input.name,
      role: input.role,
      secretHash: hashSecret(secret),
      createdAt: this.now(),
      createdBy,
    };
    const created = await this.store.createToken(record);
    this.authState = undefined;
    if (!created) throw new ConflictError(`A token named '${input.name}' exists already.`);
    return { record, secret };
  }

  async list(params: { pageSize: number; pageToken?: string }): Promise<Page<TokenRecord>> {
    const fingerprint = JSON.stringify(['tokens']);
    const after = this.pageTokens.cursor(params.pageToken, fingerprint);
    const rows = await this.store.listTokens({
      ...(after === undefined ? {} : { after: String(after) }),
      limit: params.pageSize + 1,
    });
    return this.pageTokens.page(rows, params.pageSize, fingerprint, (last) => last.name);
  }

  /** Revokes (deletes) a token: from the next request on, on every replica, it is refused. */
  async revoke(name: string): Promise<void> {
    const outcome = await this.store.revokeToken(name, { keepAnAdmin: !this.hasAdminSecret });
    this.authState = undefined;
    if (outcome === 'not-found') throw new NotFoundError(`No token named '${name}'.`);
    if (outcome === 'last-admin') {
      throw new ConflictError(
        `'${name}' is the last admin token and REGISTRY_ADMIN_TOKEN is not set: create another admin token first.`,
      );
    }
  }

  /**
   * Who presents `secret`: the bootstrap admin, a stored token, or nobody valid. Answers at once
   * (no promise) when no lookup is needed: the bootstrap admin, or a secret of the wrong shape.
   */
  authenticate(secret: string): Principal | Promise<Principal> {
    const digest = this.digestOf(secret);
    // Digests have equal lengths, so the comparison takes the same time whatever was sent.
    if (this.adminSecretDigest !== undefined && timingSafeEqual(digest, this.adminSecretDigest)) return BOOTSTRAP_ADMIN;
    const invalid: Principal = { kind: 'invalid', reason: 'The bearer token is not valid (unknown or revoked).' };
    if (!SECRET_PATTERN.test(secret)) return invalid;
    // An indexed lookup is not a constant-time comparison, and need not be: what it compares is
    // the SHA-256 of the caller's input, so timing could at most reveal a prefix of a stored
    // digest, and a digest is useless without a preimage of 256 random bits.
    return this.store
      .findTokenBySecretHash(digest.toString('hex'))
      .then((record): Principal => (record === null ? invalid : { kind: 'token', name: record.name, role: record.role }));
  }

  /**
   * SHA-256 of a presented secret, remembered for the few secrets that call again and again (one
   * per client tool): hashing costs ~4 µs per request here (OpenSSL looks the digest up anew each
   * time). The memo holds what every request carries in its headers anyway; it decides nothing:
   * whether the token is valid, or revoked, is looked up by the digest on every request.
   */
  private digestOf(secret: string): Buffer {
    // Long ones (a header of garbage) are neither secrets of ours nor worth the memory.
    if (secret.length > 128) return hash('sha256', secret, 'buffer');
    let digest = this.digests.get(secret);
    if (digest === undefined) {
      digest = hash('sha256', secret, 'buffer');
      // A plain Map, emptied when full, is cheaper per hit than an LRU, and callers are few.
      if (this.digests.size >= DIGEST_MEMO_ENTRIES) this.digests.clear();
      this.digests.set(secret, digest);
    }
    return digest;
  }

  /**
   * Whether tokens are required: a bootstrap admin token is configured, or any token exists.
   * Cached for AUTH_STATE_TTL_MS (see there); concurrent callers share one query.
   */
  async authRequired(): Promise<boolean> {
    if (this.hasAdminSecret) return true;
    const state = this.authState;
    if (state !== undefined && this.clock() < state.until) return state.required;
    this.authStateLoading ??= this.store
      .countTokens()
      .then(({ total }) => {
        this.authState = { required: total > 0, until: this.clock() + AUTH_STATE_TTL_MS };
        return total > 0;
      })
      .finally(() => {
        this.authStateLoading = undefined;
      });
    return this.authStateLoading;
  }
}
