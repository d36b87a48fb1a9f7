/**
 * One bot (console.md, Bots; docs/bots.md): its channel — the web chat's link and embed snippet,
 * or the http channel's webhook and signing key —, its engine (rules, external with its signing
 * secret shown once, rasa), and its rules (bot-rules.tsx).
 */
import { useState } from 'preact/hooks';
import { useAction } from '../action';
import { ADMIN, enc, type Page } from '../api';
import { ConfirmButton } from '../components/confirm-button';
import { Link } from '../components/link';
import { PageTitle } from '../components/page-title';
import { CopyField, SecretsOnce } from '../components/secrets-once';
import { ErrorNote, Loading } from '../components/states';
import { useApi } from '../context';
import { useLoad } from '../hooks';
import { projectPath } from '../router';
import { RulesSection } from './bot-rules';
import { WhatsappChannel, type WhatsappChannelView } from './whatsapp-channel';

export interface Bot {
  readonly id: string;
  readonly name: string;
  readonly channel: 'webchat' | 'http' | 'whatsapp';
  readonly createdAt: string;
}

type Channel =
  | { readonly channel: 'webchat'; readonly url: string }
  | { readonly channel: 'http'; readonly webhookUrl: string | null; readonly hasSigningKey: boolean }
  | WhatsappChannelView;

type Engine =
  | { readonly type: 'rules' }
  | { readonly type: 'external'; readonly webhookUrl: string; readonly signingSecret?: string }
  | { readonly type: 'rasa'; readonly url: string };

export const CHANNEL_NAMES = { webchat: 'Web chat', http: 'HTTP channel', whatsapp: 'WhatsApp' } as const;

const KEY_LOST = 'relevo never shows it again; if it is lost, regenerate it here and update the other side.';

export function BotPage({ projectId, botId }: { readonly projectId: string; readonly botId: string }) {
  const api = useApi();
  const base = `${ADMIN}/projects/${enc(projectId)}/bots/${enc(botId)}`;
  const bot = useLoad(async () => {
    // The channel's route answers 404 bot_not_found for a bot that is not there; the admin API
    // has no read of one bot, so its name comes from the list, read until the bot is in it.
    const channel = await api.get<Channel>(`${base}/channel`);
    let name: string | undefined;
    let after: string | null = null;
    do {
      const cursor: string = after === null ? '' : `&after=${enc(after)}`;
      const page: Page<Bot> = await api.get<Page<Bot>>(
        `${ADMIN}/projects/${enc(projectId)}/bots?limit=200${cursor}`,
      );
      name = page.items.find((b) => b.id === botId)?.name;
      after = page.nextCursor;
    } while (name === undefined && after !== null);
    return { name: name ?? botId, channel };
  }, base);

  const back = (
    <p class="crumbs">
      <Link to={projectPath(projectId, 'bots')}>← Bots</Link>
    </p>
  );
  if (bot.loading) return <Loading what="the bot" />;
  if (bot.value === undefined) {
    return (
      <>
        {back}
        <PageTitle title="Bot">Bot</PageTitle>
        <ErrorNote>{bot.error ?? 'The bot could not be loaded.'}</ErrorNote>
      </>
    );
  }
  const { name, channel } = bot.value;
  return (
    <>
      {back}
      <PageTitle title={`${name} · bot`}>{name}</PageTitle>
      <p class="lead">
        <span class="mono">{botId}</span> · {CHANNEL_NAMES[channel.channel]}
      </p>
      {channel.channel === 'webchat' ? (
        <WebchatChannel botId={botId} />
      ) : channel.channel === 'whatsapp' ? (
        <WhatsappChannel base={base} channel={channel} />
      ) : (
        <HttpChannel base={base} channel={channel} />
      )}
      <EngineSection base={base} />
      <RulesSection base={base} />
    </>
  );
}

function WebchatChannel({ botId }: { readonly botId: string }) {
  const link = `${location.origin}/webchat/${encodeURIComponent(botId)}`;
  const snippet = `<script src="${link}/widget.js" async></script>`;
  return (
    <section aria-labelledby="channel" class="panel">
      <h2 id="channel">Web chat</h2>
      <p>
        End users chat with this bot on relevo's chat page, or through a button on your own site: paste the
        snippet before <code>&lt;/body&gt;</code>.
      </p>
      <dl class="secrets-list">
        <CopyField id="webchat-link" field={{ label: 'Chat link', value: link, secret: false }} />
        <CopyField id="webchat-snippet" field={{ label: 'Embed snippet', value: snippet, secret: false }} />
      </dl>
      <p>
        <a href={link} target="_blank" rel="noopener noreferrer">
          Open the chat in a new tab
        </a>
      </p>
    </section>
  );
}

function HttpChannel({
  base,
  channel,
}: {
  readonly base: string;
  readonly channel: { readonly webhookUrl: string | null; readonly hasSigningKey: boolean };
}) {
  const api = useApi();
  const [url, setUrl] = useState(channel.webhookUrl ?? '');
  const [key, setKey] = useState<string | undefined>(undefined);
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const { busy, error, invalid } = action;
  const run = (work: () => Promise<void>) => {
    setSaved(false);
    return action.run(work);
  };
  return (
    <section aria-labelledby="channel" class="panel">
      <h2 id="channel">HTTP channel</h2>
      <p>
        relevo posts each message for the end user to your app's URL, signed with the channel's signing key.
      </p>
      {key !== undefined ? (
        <SecretsOnce
          title="Channel signing key"
          fields={[{ label: 'Signing key', value: key, secret: true }]}
          ifLost={KEY_LOST}
          onDone={() => setKey(undefined)}
        />
      ) : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void run(async () => {
            const answer = await api.put<{ signingKey?: string }>(`${base}/channel`, {
              webhookUrl: url.trim(),
            });
            if (answer.signingKey !== undefined) setKey(answer.signingKey);
            setSaved(true);
          });
        }}
      >
        <label class="field">
          <span>Your app's URL</span>
          <input
            class="input"
            type="url"
            required
            value={url}
            placeholder="https://app.example.com/relevo/messages"
            aria-invalid={invalid.webhookUrl !== undefined}
            onInput={(e) => setUrl(e.currentTarget.value)}
          />
          {invalid.webhookUrl !== undefined ? (
            <span class="field-error">{invalid.webhookUrl.join(' ')}</span>
          ) : null}
        </label>
        {error !== undefined ? <ErrorNote>{error}</ErrorNote> : null}
        <div class="toolbar">
          <button type="submit" class="button button-primary" disabled={busy}>
            Save
          </button>
          <ConfirmButton
            label="Regenerate the signing key"
            question="Replace the key now? Your app must check signatures with the new one from then on."
            disabled={busy}
            onConfirm={() =>
              void run(async () => {
                setKey(
                  (await api.post<{ signingKey: string }>(`${base}/channel/signing-key/regenerate`))
                    .signingKey,
                );
              })
            }
          />
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

function EngineSection({ base }: { readonly base: string }) {
  const api = useApi();
  const engine = useLoad(() => api.get<Engine>(`${base}/engine`), `${base}/engine`);
  const [type, setType] = useState<Engine['type'] | undefined>(undefined);
  const [url, setUrl] = useState<string | undefined>(undefined);
  const [secret, setSecret] = useState<string | undefined>(undefined);
  const [saved, setSaved] = useState(false);
  const action = useAction();
  const { busy, error, invalid } = action;

  if (engine.loading) return <Loading what="the engine" />;
  const current = engine.value;
  if (current === undefined)
    return <ErrorNote>{engine.error ?? 'The engine could not be loaded.'}</ErrorNote>;
  const chosen = type ?? current.type;
  const currentUrl =
    current.type === 'external' ? current.webhookUrl : current.type === 'rasa' ? current.url : '';
  const shownUrl = url ?? (chosen === current.type ? currentUrl : '');
  const urlField = chosen === 'external' ? 'webhookUrl' : 'url';

  const run = (work: () => Promise<void>) => {
    setSaved(false);
    return action.run(work);
  };
  const save = () =>
    run(async () => {
      const body = chosen === 'rules' ? { type: chosen } : { type: chosen, [urlField]: shownUrl.trim() };
      const answer = await api.put<Engine>(`${base}/engine`, body);
      if (answer.type === 'external' && answer.signingSecret !== undefined) setSecret(answer.signingSecret);
      engine.set(answer);
      setType(undefined);
      setUrl(undefined);
      setSaved(true);
    });

  return (
    <section aria-labelledby="engine" class="panel">
      <h2 id="engine">Engine</h2>
      <p>What answers this bot's end users while the panel does not have them.</p>
      {secret !== undefined ? (
        <SecretsOnce
          title="Your bot's signing secret"
          fields={[{ label: 'Signing secret', value: secret, secret: true }]}
          ifLost={KEY_LOST}
          onDone={() => setSecret(undefined)}
        />
      ) : null}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <fieldset class="choice">
          <legend>Engine</legend>
          {(
            [
              ['rules', "relevo's rules (below)"],
              ['external', 'Your own bot, over signed webhooks'],
              ['rasa', 'A Rasa assistant (REST channel)'],
            ] as const
          ).map(([value, label]) => (
            <label key={value}>
              <input
                type="radio"
                name="engine-type"
                checked={chosen === value}
                onChange={() => {
                  setType(value);
                  setUrl(undefined);
                }}
              />{' '}
              {label}
            </label>
          ))}
        </fieldset>
        {chosen !== 'rules' ? (
          <label class="field">
            <span>{chosen === 'external' ? "Your bot's webhook URL" : "Rasa's URL"}</span>
            <input
              class="input"
              type="url"
              required
              value={shownUrl}
              placeholder={
                chosen === 'external' ? 'https://bot.example.com/relevo' : 'http://rasa.example.com:5005'
              }
              aria-invalid={invalid[urlField] !== undefined}
              onInput={(e) => setUrl(e.currentTarget.value)}
            />
            {invalid[urlField] !== undefined ? (
              <span class="field-error">{invalid[urlField]?.join(' ')}</span>
            ) : null}
          </label>
        ) : null}
        {error !== undefined ? <ErrorNote>{error}</ErrorNote> : null}
        <div class="toolbar">
          <button type="submit" class="button button-primary" disabled={busy}>
            Save the engine
          </button>
          {current.type === 'external' ? (
            <ConfirmButton
              label="Regenerate the signing secret"
              question="Replace the secret now? Every request from then on, retries included, is signed with the new one."
              disabled={busy}
              onConfirm={() =>
                void run(async () => {
                  setSecret(
                    (await api.post<{ signingSecret: string }>(`${base}/engine/secret/regenerate`))
                      .signingSecret,
                  );
                })
              }
            />
          ) : null}
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
