import { useState } from 'preact/hooks';
import { session } from '../session.js';
import { useSession } from '../use-session.js';

/** Asks for a token and keeps it in this tab's sessionStorage once the registry accepts it. */
export function SignInForm({ onSignedIn }: { onSignedIn?: (() => void) | undefined }) {
  const state = useSession();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  async function submit(event: Event) {
    event.preventDefault();
    if (token.trim() === '') return;
    setBusy(true);
    const ok = await session.signIn(token);
    setBusy(false);
    if (ok) {
      setToken('');
      onSignedIn?.();
    }
  }
  return (
    <form class="sign-in" onSubmit={submit}>
      <label for="token-input">API token</label>
      <input
        id="token-input"
        type="password"
        autoComplete="off"
        spellcheck={false}
        placeholder="ccr_…"
        value={token}
        onInput={(e) => setToken((e.target as HTMLInputElement).value)}
        aria-describedby="token-help"
        required
      />
      <button type="submit" disabled={busy}>
        {busy ? 'Checking…' : 'Sign in'}
      </button>
      <p id="token-help" class="hint">
        Kept in this tab only (sessionStorage) and sent as a bearer header; closing the tab or signing out forgets it.
      </p>
      {state.refused && (
        <p class="problem" role="alert">
          {state.refused}
        </p>
      )}
    </form>
  );
}
