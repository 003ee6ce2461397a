// The customer's web chat: the portal's start form, the wait, the chat,
// the upgrade's steps, the end with "Save the chat history".
import { useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import type { PublicPortal, StartSessionRequest } from "../../../../gen/ts/assist/v1/portal_service_pb.js";
import { DeviceType, OperatingSystem, ParticipantRole, PortalMode, type Participant } from "../../../../gen/ts/assist/v1/session_pb.js";
import { bearer, chatClient, Code, errorCode, errorText, portalClient, sleep } from "../shared/api";
import { Conversation } from "../shared/conversation";
import { lang, t } from "../shared/i18n";
import { LangSwitch, MessageList, useLangRerender } from "../shared/ui";
import { downloadStarted, forget, loadSaved, requestID, save, type Saved } from "./storage";

const slug = decodeURIComponent(location.pathname.replace(/^\/p\//, "").replace(/\/.*$/, ""));
const mobile = /Android|iPhone|iPad|iPod|Mobile/i.test(navigator.userAgent);

function platform() {
  const ua = navigator.userAgent;
  const os = /Android/i.test(ua)
    ? OperatingSystem.ANDROID
    : /iPhone|iPad|iPod/i.test(ua)
      ? OperatingSystem.IOS
      : /Windows/i.test(ua)
        ? OperatingSystem.WINDOWS
        : /CrOS/i.test(ua)
          ? OperatingSystem.CHROMEOS
          : /Mac OS X/i.test(ua)
            ? OperatingSystem.MACOS
            : /Linux/i.test(ua)
              ? OperatingSystem.LINUX
              : OperatingSystem.UNSPECIFIED;
  return { deviceType: mobile ? DeviceType.MOBILE : DeviceType.DESKTOP, operatingSystem: os, userAgent: ua.slice(0, 512) };
}

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
          <StartForm onStarted={(s) => setSaved(s)} />
        )}
      </main>
    </div>
  );
}

function StartForm({ onStarted }: { onStarted: (s: Saved) => void }) {
  const [portal, setPortal] = useState<PublicPortal | null>(null);
  const [missing, setMissing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const name = useRef<HTMLInputElement>(null);
  const email = useRef<HTMLInputElement>(null);
  const problem = useRef<HTMLTextAreaElement>(null);
  const code = useRef<HTMLInputElement>(null);
  const advisor = useRef<HTMLSelectElement>(null);

  useEffect(() => {
    portalClient
      .getPortal({ portalSlug: slug })
      .then((res) => setPortal(res.portal ?? null))
      .catch((err) => {
        if (errorCode(err) === Code.NotFound || errorCode(err) === Code.InvalidArgument) {
          setMissing(true);
        } else {
          setError(t("error.generic", { reason: errorText(err) }));
        }
      });
  }, []);

  if (missing) {
    return (
      <section class="card narrow">
        <h1>{t("start.noPortal")}</h1>
      </section>
    );
  }

  const submit = async (e: Event) => {
    e.preventDefault();
    const displayName = name.current!.value.trim();
    if (!displayName) {
      setError(t("start.nameRequired"));
      name.current!.focus();
      return;
    }
    // How the session reaches an advisor depends on the portal's mode.
    let routing: StartSessionRequest["routing"] = { case: undefined };
    if (portal?.mode === PortalMode.CODE) {
      routing = { case: "sessionCode", value: code.current!.value.trim() };
    } else if (portal?.mode === PortalMode.WEB) {
      const chosen = advisor.current!.value;
      routing = chosen ? { case: "advisorId", value: chosen } : { case: "firstAvailableAdvisor", value: true };
    }
    setBusy(true);
    setError("");
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await portalClient.startSession({
          portalSlug: slug,
          customer: { displayName, email: email.current!.value.trim(), problemDescription: problem.current!.value.trim() },
          platform: platform(),
          routing,
          requestId: requestID(slug),
        });
        const s = { sessionId: res.session!.id, token: res.customerToken, name: displayName };
        save(slug, s);
        onStarted(s);
        return;
      } catch (err) {
        if (errorCode(err) === Code.Unavailable && attempt < 5) {
          await sleep(500 * (attempt + 1));
          continue;
        }
        setError(t("start.failed", { reason: errorText(err) }));
        setBusy(false);
        return;
      }
    }
  };

  return (
    <section class="card narrow start">
      <h1>{portal ? portal.displayName : t("start.heading")}</h1>
      <p class="intro">{t("start.intro")}</p>
      {portal && portal.mode === PortalMode.CODE && <p class="hint">{t("start.codeMode")}</p>}
      <form onSubmit={submit} noValidate>
        <label for="name">{t("start.name")}</label>
        <input id="name" ref={name} name="name" autocomplete="name" required maxLength={100} />
        <label for="email">{t("start.email")}</label>
        <input id="email" ref={email} name="email" type="email" autocomplete="email" maxLength={254} />
        <label for="problem">{t("start.problem")}</label>
        <textarea id="problem" ref={problem} name="problem" rows={3} maxLength={2000} />
        {portal?.mode === PortalMode.CODE && (
          <>
            <label for="code">{t("start.code")}</label>
            <input id="code" ref={code} name="code" inputMode="numeric" pattern="[0-9]{6}" maxLength={6} autocomplete="one-time-code" required />
          </>
        )}
        {portal?.mode === PortalMode.WEB && (
          <>
            <label for="advisor">{t("start.advisor")}</label>
            <select id="advisor" ref={advisor} name="advisor">
              <option value="">{t("start.firstAvailable")}</option>
              {portal.onlineAdvisors.map((a) => (
                <option key={a.advisorId} value={a.advisorId}>
                  {a.available ? a.displayName : t("start.busy", { name: a.displayName })}
                </option>
              ))}
            </select>
          </>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t("start.starting") : t("start.submit")}
        </button>
      </form>
    </section>
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
        {started ? t("chat.with", { name: conv.advisorName }) : t("chat.waiting")}
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
