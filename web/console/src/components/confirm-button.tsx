/**
 * A button whose action cannot be undone (a regenerated key stops the old one at once), asked
 * again before it runs. The question's Cancel takes the focus, so Enter or Space pressed twice
 * by accident does not confirm.
 */
import { useEffect, useRef, useState } from 'preact/hooks';

export function ConfirmButton({
  label,
  question,
  disabled,
  onConfirm,
}: {
  /** The button's text; the confirming button says "Yes, " and the same words. */
  readonly label: string;
  readonly question: string;
  readonly disabled: boolean;
  readonly onConfirm: () => void;
}) {
  const [asking, setAsking] = useState(false);
  const cancel = useRef<HTMLButtonElement>(null);
  const opener = useRef<HTMLButtonElement>(null);
  const wasAsking = useRef(false);
  useEffect(() => {
    // Focus follows the question: to its Cancel when it opens, back to the button when it closes.
    if (asking) cancel.current?.focus();
    else if (wasAsking.current) opener.current?.focus();
    wasAsking.current = asking;
  }, [asking]);
  if (!asking)
    return (
      <button type="button" class="button" ref={opener} disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  return (
    <fieldset class="confirm">
      <legend>{question}</legend>
      <button
        type="button"
        class="button button-primary"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        {`Yes, ${label.charAt(0).toLowerCase()}${label.slice(1)}`}
      </button>
      <button type="button" class="button" ref={cancel} onClick={() => setAsking(false)}>
        Cancel
      </button>
    </fieldset>
  );
}
