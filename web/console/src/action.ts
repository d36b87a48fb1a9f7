/**
 * A form's action: while it runs the buttons are disabled; when the API refuses it, its
 * description and each invalid field's messages are kept for the form to show where they belong.
 */
import { useState } from 'preact/hooks';
import { describeError, fieldErrors } from './api';

export interface Action {
  readonly busy: boolean;
  readonly error: string | undefined;
  readonly invalid: Readonly<Record<string, string[]>>;
  /** Runs `work`, clearing the last error first; true when it succeeded. */
  run(work: () => Promise<void>): Promise<boolean>;
  /** Says what is wrong without asking the server (a form's own check). */
  fail(message: string): void;
}

export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const [invalid, setInvalid] = useState<Record<string, string[]>>({});
  return {
    busy,
    error,
    invalid,
    async run(work) {
      setBusy(true);
      setError(undefined);
      setInvalid({});
      try {
        await work();
        return true;
      } catch (e) {
        setInvalid(fieldErrors(e));
        setError(describeError(e));
        return false;
      } finally {
        setBusy(false);
      }
    },
    fail(message) {
      setInvalid({});
      setError(message);
    },
  };
}
