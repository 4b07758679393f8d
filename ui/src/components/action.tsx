import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError } from '../api.js';
import { ProblemMessage } from './problem-message.js';

export interface Action {
  busy: boolean;
  error: ApiError | undefined;
  done: string | undefined;
  /** Runs `write`; its answer (a sentence) is announced, its problem shown. */
  run(write: () => Promise<string>): Promise<void>;
  clear(): void;
}

export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState<string>();
  return {
    busy,
    error,
    done,
    async run(write) {
      setBusy(true);
      setError(undefined);
      setDone(undefined);
      try {
        setDone(await write());
      } catch (e) {
        setError(e instanceof ApiError ? e : new ApiError({ title: 'Error', status: 0, detail: String(e) }));
      } finally {
        setBusy(false);
      }
    },
    clear() {
      setError(undefined);
      setDone(undefined);
    },
  };
}

/** What an action answered: a success line, or the problem (412 offers `onReload`). */
export function ActionOutcome({ action, onReload, what }: { action: Action; onReload: () => void; what: string }) {
  return (
    <div class="outcome" aria-live="polite">
      {action.done && <p class="done">{action.done}</p>}
      {action.error && <ProblemMessage error={action.error} onReload={onReload} what={what} />}
    </div>
  );
}

/**
 * A button that asks once more before a write: the first press shows what will happen and a
 * confirming button (no modal dialog, nothing to trap focus in).
 */
export function ConfirmButton({
  label,
  confirmLabel,
  question,
  onConfirm,
  disabled,
  danger,
}: {
  label: string;
  confirmLabel: string;
  question: ComponentChildren;
  onConfirm: () => void;
  disabled?: boolean;
  danger?: boolean;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" class={danger ? 'danger' : undefined} disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span class="confirm" role="group" aria-label={label}>
      <span class="confirm-question">{question}</span>
      <button
        type="button"
        class={danger ? 'danger' : 'primary'}
        ref={(el) => el?.focus()}
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {confirmLabel}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
