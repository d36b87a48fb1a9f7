/**
 * Secrets the server shows exactly once (a new project's or credential's API key and client
 * secret): each in a read-only field with a copy button, and a plain warning that they cannot be
 * shown again. The panel stays until the person says they have saved them.
 */
import { useEffect, useRef, useState } from 'preact/hooks';

export interface SecretField {
  readonly label: string;
  readonly value: string;
  /** Whether the value is a secret (shown once) rather than an id. */
  readonly secret: boolean;
}

const CREDENTIAL_LOST =
  'relevo keeps only their hashes; if they are lost, create a new credential and revoke this one.';

export function SecretsOnce({
  title,
  fields,
  onDone,
  ifLost = CREDENTIAL_LOST,
}: {
  readonly title: string;
  readonly fields: readonly SecretField[];
  readonly onDone: () => void;
  /** Why they cannot be shown again, and what to do if they are lost. */
  readonly ifLost?: string;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => heading.current?.focus(), []);
  return (
    <section class="secrets" aria-labelledby="secrets-title">
      <h2 id="secrets-title" tabIndex={-1} ref={heading}>
        {title}
      </h2>
      <p class="secrets-warning">
        <strong>Copy the secrets now: you will not see them again.</strong> {ifLost}
      </p>
      <dl class="secrets-list">
        {fields.map((f, i) => (
          <CopyField key={f.label} field={f} id={`secret-${i}`} />
        ))}
      </dl>
      <button type="button" class="button button-primary" onClick={onDone}>
        I have saved them
      </button>
    </section>
  );
}

/** A read-only value with a copy button (secrets, and values to paste elsewhere). */
export function CopyField({ field, id }: { readonly field: SecretField; readonly id: string }) {
  const [copied, setCopied] = useState<'yes' | 'failed' | undefined>(undefined);
  const input = useRef<HTMLInputElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(field.value);
      setCopied('yes');
    } catch {
      // No clipboard permission: select the text so Ctrl+C copies it.
      input.current?.select();
      setCopied('failed');
    }
  };
  return (
    <div class="secret">
      <dt>
        <label for={id}>{field.label}</label>
      </dt>
      <dd>
        <input
          id={id}
          ref={input}
          class="input mono"
          readOnly
          value={field.value}
          spellcheck={false}
          autocomplete="off"
          data-secret={field.secret ? 'yes' : undefined}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button
          type="button"
          class="button"
          aria-label={`Copy ${field.label}`}
          onClick={() => {
            void copy();
          }}
        >
          Copy
        </button>
        <span class="copied" role="status">
          {copied === 'yes' ? 'Copied' : copied === 'failed' ? 'Selected: press Ctrl+C' : ''}
        </span>
      </dd>
    </div>
  );
}
