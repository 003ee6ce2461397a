// The customer's web chat: the portal's start form, the wait, the chat,
// the upgrade's steps, the end with "Save the chat history".
import { useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import { ParticipantRole, type Participant } from "../../../../gen/ts/assist/v1/session_pb.js";
import { bearer, chatClient, Code, errorCode, portalClient, sleep } from "../shared/api";
import { Conversation } from "../shared/conversation";
import { lang, t } from "../shared/i18n";
import { LangSwitch, MessageList, useLangRerender } from "../shared/ui";
import { mobile, StartForm } from "./start";
import { downloadStarted, forget, loadSaved, type Saved } from "./storage";

const slug = decodeURIComponent(location.pathname.replace(/^\/p\//, "").replace(/\/.*$/, ""));

export function CustomerApp() {
  useLangRerender();
  const [saved, setSaved] = useState<Saved | null>(() => loadSaved(slug));
  useEffect(() => {
    document.title = t("app.title");
  });
  return (
    <div class="page customer">
      <header class="topbar">
        <span class="brand" aria-hidden="true">
          Assist
        </span>
        <LangSwitch />
      </header>
      <main id="main">
        {saved ? (
          <Chat
            saved={saved}
            onForget={() => {
              forget(slug);
              setSaved(null);
            }}
          />
        ) : (
          <StartForm slug={slug} onStarted={(s) => setSaved(s)} />
        )}
      </main>
    </div>
  );
}

const isCustomer = (p: Participant | undefined) => p?.role === ParticipantRole.CUSTOMER;

function Chat({ saved, onForget }: { saved: Saved; onForget: () => void }) {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  const conv = useMemo(() => new Conversation(saved.sessionId, saved.token, isCustomer, () => bump(1)), [saved.sessionId]);
  const [connected, setConnected] = useState(true);
  const [gone, setGone] = useState(false);
  const [draft, setDraft] = useState("");
  const input = useRef<HTMLTextAreaElement>(null);

  // Follow the log from the cursor; after a cut, resume from it.
  useEffect(() => {
    const abort = new AbortController();
    (async () => {
      let delay = 500;
      while (!abort.signal.aborted && !conv.ended) {
        try {
          for await (const res of chatClient.subscribe({ sessionId: conv.sessionId, afterSeq: conv.cursor }, { ...bearer(saved.token), signal: abort.signal })) {
            setConnected(true);
            delay = 500;
            if (res.event) {
              const fresh = conv.apply(res.event);
              if (fresh && res.event.payload.case === "upgradeOffered") {
                startDownload(conv.sessionId, res.event.seq, res.event.payload.value.openerUrl);
              }
            }
          }
          if (conv.ended) {
            break;
          }
          // The server ended the stream (shutdown): resume at once.
          continue;
        } catch (err) {
          if (abort.signal.aborted) {
            return;
          }
          const code = errorCode(err);
          if (code === Code.Unauthenticated || code === Code.NotFound) {
            setGone(true);
            return;
          }
        }
        setConnected(false);
        await sleep(delay, abort.signal);
        delay = Math.min(delay * 2, 4_000);
      }
    })();
    return () => abort.abort();
  }, [conv]);

  const started = conv.advisorName !== "";
  const disabled = conv.ended || conv.upgrade.webChatDisabled || gone;

  // While waiting: where the session stands in the queue, asked every few
  // seconds (a failed ask just leaves the last answer on screen).
  const [place, setPlace] = useState(0);
  useEffect(() => {
    if (started || conv.ended) {
      setPlace(0);
      return;
    }
    const abort = new AbortController();
    (async () => {
      while (!abort.signal.aborted) {
        try {
          const res = await portalClient.getQueuePosition({ sessionId: conv.sessionId }, { ...bearer(saved.token), signal: abort.signal });
          setPlace(res.position);
        } catch {
          // Transient or gone: the log stream reports what matters.
        }
        await sleep(5_000, abort.signal);
      }
    })();
    return () => abort.abort();
  }, [conv, started, conv.ended]);
  const typing = conv.typingNames();

  const submit = (e: Event) => {
    e.preventDefault();
    const text = draft.trim();
    if (!text || disabled) {
      return;
    }
    conv.send(text);
    setDraft("");
    input.current?.focus();
  };

  if (gone) {
    return (
      <section class="card narrow">
        <p role="alert">{t("chat.expired")}</p>
        <button type="button" class="primary" onClick={onForget}>
          {t("chat.newSession")}
        </button>
      </section>
    );
  }

  const footer = conv.ended ? (
    <div class="ended-footer">
      <p>{t("chat.ended")}</p>
      <form method="post" action="/chat-history" class="save-history">
        <input type="hidden" name="session_id" value={conv.sessionId} />
        <input type="hidden" name="token" value={saved.token} />
        <input type="hidden" name="lang" value={lang()} />
        <input type="hidden" name="time_zone" value={Intl.DateTimeFormat().resolvedOptions().timeZone} />
        <button type="submit" class="primary" id="save-history">
          {t("chat.saveHistory")}
        </button>
      </form>
      <button type="button" class="secondary" onClick={onForget}>
        {t("chat.newSession")}
      </button>
    </div>
  ) : null;

  return (
    <section class="chat card" aria-labelledby="chat-title">
      <h1 id="chat-title" class="chat-title">
        {started
          ? t("chat.with", { name: conv.advisorName })
          : conv.backInQueue
            ? t("chat.waiting")
            : saved.advisorName || conv.waitingForName
            ? t("chat.waitingFor", { name: saved.advisorName || conv.waitingForName })
            : saved.routed
              ? t("chat.waitingForYours")
              : t("chat.waiting")}
      </h1>
      {!started && !conv.ended && place > 0 && (
        <p class="queue-place" role="status" id="queue-place">
          {place === 1 ? t("chat.queueNext") : t("chat.queuePlace", { n: String(place) })}
        </p>
      )}
      {!connected && (
        <p class="banner" role="status" id="reconnecting">
          {t("chat.reconnecting")}
        </p>
      )}
      {conv.upgrade.offered && mobile && !conv.upgrade.appConnected && (
        <p class="upgrade-mobile">
          <a class="primary button-link" href={conv.upgrade.offered.openerUrl}>
            {t("chat.upgradeMobileLink")}
          </a>
        </p>
      )}
      <MessageList items={conv.items()} label={t("chat.log")} onRetry={(id) => conv.retry(id)} footer={footer} id="log" />
      <p class="typing" aria-live="polite">
        {typing.length > 0 ? t("chat.typing", { name: typing.join(", ") }) : ""}
      </p>
      {conv.upgrade.webChatDisabled && !conv.ended && (
        <p class="moved" role="status">
          {t("chat.movedToApp")}
        </p>
      )}
      {!conv.ended && (
        <form class="composer" onSubmit={submit}>
          <label for="message" class="visually-hidden">
            {t("chat.input")}
          </label>
          <textarea
            id="message"
            ref={input}
            rows={2}
            maxLength={4000}
            value={draft}
            disabled={disabled}
            placeholder={t("chat.input")}
            onInput={(e) => {
              setDraft((e.currentTarget as HTMLTextAreaElement).value);
              conv.typed();
            }}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
                submit(e);
              }
            }}
          />
          <button type="submit" class="primary" disabled={disabled || !draft.trim()}>
            {t("chat.send")}
          </button>
        </form>
      )}
    </section>
  );
}

// startDownload starts the opener download by itself on desktop, once per
// offer (a reload does not start it again). On mobile the page offers the
// app link instead.
function startDownload(sessionId: string, seq: bigint, url: string): void {
  if (mobile || !url || downloadStarted(sessionId, seq)) {
    return;
  }
  const a = document.createElement("a");
  a.href = url;
  a.download = "";
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
}
