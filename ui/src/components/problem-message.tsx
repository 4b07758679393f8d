import type { ApiError } from '../api.js';
import { SignInForm } from './sign-in-form.js';

/**
 * A problem from the API, as the API put it: its detail, each pointer into what was sent, and a
 * link to the page its `type` names.
 * 401 offers the sign-in form in place; 412 (someone else wrote first) says so and offers a reload.
 */
export function ProblemMessage({ error, onReload, what }: { error: ApiError; onReload?: () => void; what?: string }) {
  const { problem } = error;
  if (problem.status === 412) {
    return (
      <div class="problem conflict" role="alert">
        <p>
          <strong>Someone else changed {what ?? 'this'} since you loaded this page.</strong> Nothing was overwritten:
          your change was not applied.
        </p>
        <p class="problem-detail">{problem.detail}</p>
        {onReload && (
          <button type="button" onClick={onReload}>
            Reload to see the current version
          </button>
        )}
      </div>
    );
  }
  if (problem.status === 401) {
    return (
      <div class="problem" role="alert">
        <p>
          <strong>This registry needs a token.</strong> {problem.detail}
        </p>
        <SignInForm onSignedIn={onReload} />
      </div>
    );
  }
  return (
    <div class="problem" role="alert">
      <p>
        <strong>{problem.title}</strong>
        {problem.status > 0 && <span class="status"> ({problem.status})</span>}: {problem.detail}
      </p>
      {problem.type?.startsWith('/problems/') && (
        // The problem type's own page on this registry (outside the app: a full page load).
        <p class="problem-type">
          <a href={problem.type}>What this means and how to fix it</a>
        </p>
      )}
      {problem.errors && problem.errors.length > 0 && (
        <ul class="problem-errors">
          {problem.errors.map((item, i) => (
            <li key={i}>
              {(item.pointer ?? item.parameter) !== undefined && <code>{item.pointer ?? item.parameter}</code>} {item.detail}
            </li>
          ))}
        </ul>
      )}
      {problem.configs && problem.configs.length > 0 && <p>Configs in the way: {problem.configs.join(', ')}</p>}
    </div>
  );
}
