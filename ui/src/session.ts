// Who the UI is signed in as. The token lives in sessionStorage only (gone with the tab, never in
// a URL, a cookie or a log) and travels as a bearer header. The API has no "who am I" route, so
// the role is found by asking the API what this token may do, with requests that change nothing:
//   GET  /v1/tokens?pageSize=1   200 for admin (token management), 403 below it;
//   POST /v1/module-classes {}   a writer gets the body's 422 (authorization comes first, in
//                                preParsing, so the invalid body is never stored), a reader 403;
//   GET  /v1/configs?pageSize=1  200 for anyone who may read, 401 if a token is needed.
// On an open registry (no tokens at all) anonymous callers pass all three: "open".

export type Role = 'reader' | 'writer' | 'admin';

export interface SessionState {
  /** Still asking the API. */
  probing: boolean;
  /** The role the current credentials (a token, or none) have; null: may not even read. */
  role: Role | null;
  /** A token is held in this tab. */
  signedIn: boolean;
  /** The registry runs open: no tokens exist, anyone may do anything. */
  open: boolean;
  /** Reading works without a token (open, or REGISTRY_ANONYMOUS_READ=true). */
  anonymousRead: boolean;
  /** Why the last token was refused (shown on the sign-in form). */
  refused: string | null;
}

const KEY = 'convert-config-registry.token';
const RANK: Record<Role, number> = { reader: 1, writer: 2, admin: 3 };

type Listener = (state: SessionState) => void;

class Session {
  private state: SessionState = { probing: true, role: null, signedIn: false, open: false, anonymousRead: false, refused: null };
  private listeners = new Set<Listener>();

  token(): string | null {
    try {
      return sessionStorage.getItem(KEY);
    } catch {
      return null;
    }
  }

  get current(): SessionState {
    return this.state;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** May the current credentials do what needs `role`? (The server still decides.) */
  can(role: Role): boolean {
    return this.state.role !== null && RANK[this.state.role] >= RANK[role];
  }

  /** Checks `token` against the API; keeps it only if the registry accepts it. */
  async signIn(token: string): Promise<boolean> {
    const role = await probeRole(token.trim());
    if (role === 'invalid') {
      this.set({ refused: 'The registry does not know this token (mistyped, or revoked).' });
      return false;
    }
    sessionStorage.setItem(KEY, token.trim());
    this.set({ role: role === 'none' ? null : role, signedIn: true, refused: null, open: false });
    return true;
  }

  signOut(): void {
    sessionStorage.removeItem(KEY);
    this.set({ signedIn: false, refused: null });
    void this.probe();
  }

  /** The API answered 401 to the held token: it was revoked meanwhile. */
  tokenRefused(detail: string): void {
    if (this.token() === null) {
      if (this.state.role !== null && !this.state.probing) void this.probe();
      return;
    }
    sessionStorage.removeItem(KEY);
    this.set({ signedIn: false, role: null, refused: detail || 'The registry refused the token.' });
    void this.probe();
  }

  async probe(): Promise<void> {
    this.set({ probing: true });
    const token = this.token();
    const anonymous = await probeRole(null);
    if (token === null) {
      this.set({
        probing: false,
        signedIn: false,
        role: anonymous === 'none' || anonymous === 'invalid' ? null : anonymous,
        open: anonymous === 'admin',
        anonymousRead: anonymous !== 'none',
      });
      return;
    }
    const role = await probeRole(token);
    if (role === 'invalid') {
      sessionStorage.removeItem(KEY);
      this.set({ probing: false, signedIn: false, role: null, refused: 'The registry no longer accepts the token this tab held.' });
      return;
    }
    this.set({ probing: false, signedIn: true, role: role === 'none' ? null : role, open: anonymous === 'admin', anonymousRead: anonymous !== 'none' });
  }

  private set(change: Partial<SessionState>): void {
    this.state = { ...this.state, ...change };
    for (const listener of this.listeners) listener(this.state);
  }
}

export const session = new Session();

async function probeRole(token: string | null): Promise<Role | 'none' | 'invalid'> {
  const ask = (path: string, init: RequestInit = {}) =>
    fetch(path, {
      ...init,
      credentials: 'omit',
      cache: 'no-store',
      headers: { accept: 'application/json', ...(init.headers as Record<string, string>), ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    }).then((r) => r.status, () => 0);
  const read = await ask('/v1/configs?pageSize=1');
  if (read === 401) return token === null ? 'none' : 'invalid';
  if (read !== 200) return 'none';
  if ((await ask('/v1/tokens?pageSize=1')) === 200) return 'admin';
  const write = await ask('/v1/module-classes', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  // Only the body's own rejection proves the write was authorized; anything else (403, 429) hides writes.
  return write === 400 || write === 422 ? 'writer' : 'reader';
}
