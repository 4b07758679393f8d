import { PageTitle } from '../components/page-title.js';
import { SignInForm } from '../components/sign-in-form.js';
import { navigate, type Location } from '../router.js';
import { useSession } from '../use-session.js';

export function SignInPage({ where }: { where: Location }) {
  const state = useSession();
  const next = where.query.get('next') ?? '';
  // Only a page of this UI: `next` comes from a URL anyone can craft.
  const back = next.startsWith('/ui/') || next === '/ui' ? next : '/ui/configs';
  return (
    <>
      <PageTitle title="Sign in" />
      {state.open ? (
        <p class="notice">This registry runs open (no tokens exist): everyone may read and write without one.</p>
      ) : (
        <p class="lead">
          Paste an API token (an admin creates them with <code>POST /v1/tokens</code>). Readers see configs; writers may also
          roll back, delete and move aliases; admins may move protected aliases.
        </p>
      )}
      <SignInForm onSignedIn={() => navigate(back, { replace: true })} />
    </>
  );
}
