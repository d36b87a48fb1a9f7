/**
 * A whatsapp bot's channel (docs/channels.md, "WhatsApp"): the callback URL and verify token to
 * paste into the Meta app's webhook, and the Cloud API settings. The access token and the app
 * secret are never shown back: their fields stay empty, and an empty one keeps what is saved.
 * When Meta refused the token (error 190) the channel sends nothing, and the page says so first.
 */
import { useState } from 'preact/hooks';
import { useAction } from '../action';
import { CopyField } from '../components/secrets-once';
import { ErrorNote } from '../components/states';
import { useApi } from '../context';

export interface WhatsappChannelView {
  readonly channel: 'whatsapp';
  readonly webhookPath: string;
  readonly phoneNumberId: string | null;
  readonly verifyToken: string | null;
  readonly graphApiVersion: string | null;
  readonly hasAccessToken: boolean;
  readonly hasAppSecret: boolean;
  readonly sendingDisabled: { readonly reason: string; readonly at: string } | null;
}

type Field = 'phoneNumberId' | 'accessToken' | 'appSecret' | 'verifyToken' | 'graphApiVersion';

export function WhatsappChannel({
  base,
  channel,
}: {
  readonly base: string;
  readonly channel: WhatsappChannelView;
}) {
  const api = useApi();
  const [view, setView] = useState(channel);
  const [values, setValues] = useState<Record<Field, string>>({
    phoneNumberId: channel.phoneNumberId ?? '',
    accessToken: '',
    appSecret: '',
    verifyToken: channel.verifyToken ?? '',
    graphApiVersion: channel.graphApiVersion ?? '',
  });
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const { busy, error, invalid } = action;
  const configured = view.hasAccessToken;
  const input = (field: Field, label: string, type: 'text' | 'password', hint: string, required: boolean) => {
    const props = {
      id: `whatsapp-${field}`,
      class: 'input',
      autoComplete: 'off',
      required,
      value: values[field],
      placeholder: hint,
      'aria-invalid': invalid[field] !== undefined,
      onInput: (e: { currentTarget: HTMLInputElement }) =>
        setValues({ ...values, [field]: e.currentTarget.value }),
    };
    return (
      <div class="field">
        <label for={props.id}>{label}</label>
        {type === 'password' ? <input type="password" {...props} /> : <input type="text" {...props} />}
        {invalid[field] !== undefined ? <span class="field-error">{invalid[field].join(' ')}</span> : null}
      </div>
    );
  };
  return (
    <section aria-labelledby="channel" class="panel">
      <h2 id="channel">WhatsApp channel</h2>
      {view.sendingDisabled !== null ? (
        <p class="field-error" role="alert">
          Sending is stopped: Meta refused the access token ({view.sendingDisabled.reason}). Messages wait, in
          order; save a new access token to send them.
        </p>
      ) : null}
      <p>
        In your Meta app, under WhatsApp → Configuration → Webhook, paste this callback URL and the verify
        token saved below, then subscribe to the <code>messages</code> field.
      </p>
      <dl class="secrets-list">
        <CopyField
          id="whatsapp-callback"
          field={{ label: 'Callback URL', value: `${location.origin}${view.webhookPath}`, secret: false }}
        />
      </dl>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setSaved(false);
          void action.run(async () => {
            // Only what was typed: an empty secret field keeps the saved one.
            const body = Object.fromEntries(
              Object.entries(values)
                .map(([k, v]) => [k, v.trim()])
                .filter(([, v]) => v !== ''),
            );
            const answer = await api.put<WhatsappChannelView>(`${base}/channel`, body);
            setView(answer);
            setValues({
              phoneNumberId: answer.phoneNumberId ?? '',
              accessToken: '',
              appSecret: '',
              verifyToken: answer.verifyToken ?? '',
              graphApiVersion: answer.graphApiVersion ?? '',
            });
            setSaved(true);
          });
        }}
      >
        {input('phoneNumberId', 'Phone number ID', 'text', '106540352242922', true)}
        {input(
          'accessToken',
          'Access token',
          'password',
          configured ? 'Saved; type a new one to replace it' : 'EAAG…',
          !configured,
        )}
        {input(
          'appSecret',
          'App secret',
          'password',
          view.hasAppSecret ? 'Saved; type a new one to replace it' : "The Meta app's secret",
          !view.hasAppSecret,
        )}
        {input('verifyToken', 'Verify token', 'text', 'Any text you choose', true)}
        {input('graphApiVersion', 'Graph API version', 'text', 'v23.0', false)}
        {error !== undefined ? <ErrorNote>{error}</ErrorNote> : null}
        <div class="toolbar">
          <button type="submit" class="button button-primary" disabled={busy}>
            Save the WhatsApp settings
          </button>
          {saved ? (
            <span class="card-meta" role="status">
              Saved
            </span>
          ) : null}
        </div>
      </form>
    </section>
  );
}
