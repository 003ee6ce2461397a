// The advisor console: sign in, the live queue, several chats side by
// side, upgrade, end, past sessions, sign out.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import type { Advisor } from "../../../../gen/ts/assist/v1/account_pb.js";
import { DeviceType, PortalMode, SessionKind, SessionOutcome, SessionState, type Session } from "../../../../gen/ts/assist/v1/session_pb.js";
import type { Colleague } from "../../../../gen/ts/assist/v1/session_service_pb.js";
import { authClient, bearer, chatClient, Code, errorCode, errorText, sessionClient } from "../shared/api";
import { describe, type Item } from "../shared/conversation";
import { formatDateTime, t } from "../shared/i18n";
import { LangSwitch, MessageList, useLangRerender } from "../shared/ui";
import { Administration } from "./admin";
import { SessionCodes } from "./codes";
import { Reports } from "./reports";
import { ConsoleStore, type Arrival, type Panel } from "./store";

interface Auth {
  token: string;
  advisorId: string;
  name: string;
  // From the Advisor at login: who sees the Reports tab (the server decides).
  reportAccess?: boolean;
  admin?: boolean;
}

const authKey = "assist.console";

function loadAuth(): Auth | null {
  try {
    const raw = sessionStorage.getItem(authKey);
    return raw ? (JSON.parse(raw) as Auth) : null;
  } catch {
    return null;
  }
}

export function ConsoleApp() {
  useLangRerender();
  const [auth, setAuth] = useState<Auth | null>(loadAuth);
  const signOut = () => {
    sessionStorage.removeItem(authKey);
    setAuth(null);
  };
  return (
    <div class="page console">
      {auth ? (
        <Desk auth={auth} onSignedOut={signOut} />
      ) : (
        <>
          <header class="topbar">
            <span class="brand" aria-hidden="true">
              Assist
            </span>
            <LangSwitch />
          </header>
          <main id="main">
            <Login
              onLoggedIn={(a) => {
                sessionStorage.setItem(authKey, JSON.stringify(a));
                setAuth(a);
              }}
            />
          </main>
        </>
      )}
    </div>
  );
}

function Login({ onLoggedIn }: { onLoggedIn: (a: Auth) => void }) {
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    document.title = t("console.title");
  });
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const data = new FormData(form);
    setBusy(true);
    setError("");
    try {
      const res = await authClient.login({ email: String(data.get("email")), password: String(data.get("password")) });
      const adv = res.advisor as Advisor;
      onLoggedIn({ token: res.accessToken, advisorId: adv.id, name: adv.displayName, reportAccess: adv.reportAccess, admin: adv.admin });
    } catch (err) {
      const code = errorCode(err);
      setError(code === Code.Unauthenticated || code === Code.InvalidArgument ? t("login.failed") : t("login.error", { reason: errorText(err) }));
      setBusy(false);
    }
  };
  return (
    <section class="card narrow">
      <h1>{t("login.heading")}</h1>
      <form onSubmit={submit}>
        <label for="email">{t("login.email")}</label>
        <input id="email" name="email" type="email" autocomplete="username" required />
        <label for="password">{t("login.password")}</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {t("login.submit")}
        </button>
      </form>
    </section>
  );
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) {
    return false;
  }
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

function Desk({ auth, onSignedOut }: { auth: Auth; onSignedOut: () => void }) {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  const store = useMemo(() => new ConsoleStore(auth.token, auth.advisorId, () => bump(1), onSignedOut), [auth.token]);
  const [view, setView] = useState<"chats" | "history" | "reports" | "admin">("chats");
  const [notice, setNotice] = useState("");

  useEffect(() => {
    void store.start();
    return () => store.stop();
  }, [store]);

  // Tab title: waiting customers and unread messages.
  const pending = store.queue.length + store.unreadTotal();
  useEffect(() => {
    document.title = pending > 0 ? `(${pending}) ${t("console.title")}` : t("console.title");
  });

  const pickUp = async (s: Session) => {
    setNotice("");
    try {
      const res = await sessionClient.pickUpSession({ sessionId: s.id }, bearer(auth.token));
      store.addPanel(res.session!);
      store.restart();
      setView("chats");
    } catch (err) {
      const code = errorCode(err);
      if (code === Code.FailedPrecondition || code === Code.NotFound) {
        setNotice(t("queue.lost", { name: s.customer?.displayName ?? "" }));
      } else {
        setNotice(t("error.generic", { reason: errorText(err) }));
      }
    }
  };

  // Shortcuts, never while typing in a field.
  const pickUpRef = useRef(pickUp);
  pickUpRef.current = pickUp;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) {
        return;
      }
      if (e.key === "p" && store.queue.length > 0) {
        e.preventDefault();
        void pickUpRef.current(store.queue[0]!);
      } else if (e.key === "c") {
        setView("chats");
      } else if (e.key === "h") {
        setView("history");
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [store]);

  const logout = async () => {
    store.stop();
    try {
      await authClient.logout({}, bearer(auth.token));
    } catch {
      // the token is forgotten anyway
    }
    onSignedOut();
  };

  return (
    <>
      <header class="topbar">
        <h1 class="brand">{t("console.title")}</h1>
        <nav aria-label={t("console.title")}>
          <button type="button" class="tab" aria-current={view === "chats" ? "page" : undefined} onClick={() => setView("chats")}>
            {t("nav.chats")}
            {store.unreadTotal() > 0 && <span class="badge">{store.unreadTotal()}</span>}
          </button>
          <button type="button" class="tab" aria-current={view === "history" ? "page" : undefined} onClick={() => setView("history")}>
            {t("nav.history")}
          </button>
          {(auth.reportAccess || auth.admin) && (
            <button type="button" class="tab" aria-current={view === "reports" ? "page" : undefined} onClick={() => setView("reports")}>
              {t("nav.reports")}
            </button>
          )}
          {auth.admin && (
            <button type="button" class="tab" id="nav-admin" aria-current={view === "admin" ? "page" : undefined} onClick={() => setView("admin")}>
              {t("nav.admin")}
            </button>
          )}
        </nav>
        <span class="spacer" />
        <span class="who">{auth.name}</span>
        <LangSwitch />
        <button type="button" class="secondary" onClick={logout} id="logout">
          {t("logout")}
        </button>
      </header>
      {!store.connected && (
        <p class="banner" role="status" id="reconnecting">
          {t("chat.reconnecting")}
        </p>
      )}
      <div class="desk">
        <aside class="queue" aria-labelledby="queue-title">
          <h2 id="queue-title">
            {t("queue.heading")} <span class={store.queue.length === 0 ? "badge zero" : "badge"}>{store.queue.length}</span>
          </h2>
          {notice && (
            <p class="error" role="alert">
              {notice}
            </p>
          )}
          {store.queue.length === 0 ? (
            <p class="muted">{t("queue.empty")}</p>
          ) : (
            <ul class="queue-list">
              {store.queue.map((s) => {
                const name = s.customer?.displayName ?? "";
                const forMe = store.forMe(s);
                return (
                  <li key={s.id} class={forMe ? "queue-item for-you" : "queue-item"}>
                    <div>
                      <strong>{name}</strong>
                      {forMe && (
                        <p class="tags">
                          <span class="tag for-you">{t("queue.forYou")}</span>
                          {s.portalMode === PortalMode.CODE && <span class="tag">{t("queue.viaCode")}</span>}
                          {s.portalMode === PortalMode.WEB && <span class="tag">{t("queue.viaWeb")}</span>}
                        </p>
                      )}
                      {s.customer?.problemDescription && <p class="problem">{s.customer.problemDescription}</p>}
                      <p class="muted small">{t("queue.waitingSince", { time: formatDateTime(s.createTime ? timestampDate(s.createTime) : undefined) })}</p>
                    </div>
                    <button type="button" class="primary" aria-label={t("queue.pickUpFor", { name })} onClick={() => pickUp(s)}>
                      {t("queue.pickUp")}
                    </button>
                  </li>
                );
              })}
            </ul>
          )}
          <SessionCodes store={store} />
          <p class="muted small shortcuts">{t("nav.shortcuts")}</p>
        </aside>
        <Arrivals
          store={store}
          onShow={(a) => {
            setView("chats");
            store.dismissArrival(a.id);
            // Once the chats are shown: the panel's message box, or its title.
            setTimeout(() => {
              const panel = document.querySelector<HTMLElement>(`section.panel[data-session="${a.sessionId}"]`);
              (panel?.querySelector<HTMLElement>("textarea") ?? panel)?.focus();
            });
          }}
        />
        <main id="main" class="work">
          {view === "chats" ? (
            store.panels.length === 0 ? (
              <p class="muted empty">{t("sessions.none")}</p>
            ) : (
              <div class="panels">
                {store.panels.map((p) => (
                  <SessionPanel key={p.session.id} panel={p} store={store} />
                ))}
              </div>
            )
          ) : view === "admin" ? (
            <Administration token={auth.token} selfId={auth.advisorId} />
          ) : view === "reports" ? (
            <Reports token={auth.token} advisorId={auth.advisorId} advisorName={auth.name} admin={auth.admin ?? false} />
          ) : (
            <History token={auth.token} store={store} />
          )}
        </main>
      </div>
    </>
  );
}

const outcomes = [SessionOutcome.RESOLVED, SessionOutcome.UNRESOLVED, SessionOutcome.UNKNOWN];
const outcomeKey = {
  [SessionOutcome.RESOLVED]: "outcome.RESOLVED",
  [SessionOutcome.UNRESOLVED]: "outcome.UNRESOLVED",
  [SessionOutcome.UNKNOWN]: "outcome.UNKNOWN",
} as const;

function outcomeText(o: SessionOutcome): string {
  return o === SessionOutcome.UNSPECIFIED ? "" : t(outcomeKey[o]);
}

function SessionPanel({ panel, store }: { panel: Panel; store: ConsoleStore }) {
  const { session: s, conv } = panel;
  const name = s.customer?.displayName ?? "";
  const [draft, setDraft] = useState("");
  const [confirming, setConfirming] = useState(false);
  const [ending, setEnding] = useState(false);
  const [outcome, setOutcome] = useState(SessionOutcome.RESOLVED);
  const [error, setError] = useState("");
  const yes = useRef<HTMLButtonElement>(null);
  // Which colleague panel is open; closing it gives the focus back to the
  // button that opened it.
  const [picking, setPicking] = useState<"invite" | "transfer" | null>(null);
  const inviteButton = useRef<HTMLButtonElement>(null);
  const transferButton = useRef<HTMLButtonElement>(null);
  const refocus = useRef<"invite" | "transfer" | null>(null);
  const closePicker = () => {
    refocus.current = picking;
    setPicking(null);
  };
  useEffect(() => {
    if (picking === null && refocus.current) {
      (refocus.current === "invite" ? inviteButton : transferButton).current?.focus();
      refocus.current = null;
    }
  }, [picking]);
  const id = s.id.slice(0, 8);
  const typing = conv.typingNames();
  const ended = conv.ended || s.state === SessionState.ENDED;
  const handedTo = panel.handedTo;
  const leads = store.leads(panel);
  const up = conv.upgrade;
  useEffect(() => {
    if (confirming) {
      yes.current?.focus();
    }
  }, [confirming]);

  const submit = (e: Event) => {
    e.preventDefault();
    const text = draft.trim();
    if (text && !ended) {
      conv.send(text);
      setDraft("");
    }
  };
  const upgrade = async () => {
    setConfirming(false);
    setError("");
    try {
      await sessionClient.upgradeSession({ sessionId: s.id }, bearer(store.token));
    } catch (err) {
      setError(t("session.upgradeFailed", { reason: errorText(err) }));
    }
  };
  const end = async (e: Event) => {
    e.preventDefault();
    const data = new FormData(e.currentTarget as HTMLFormElement);
    setError("");
    try {
      const res = await sessionClient.endSession(
        { sessionId: s.id, outcome, notes: String(data.get("notes") ?? "") },
        bearer(store.token),
      );
      panel.session = res.session ?? s;
      setEnding(false);
    } catch (err) {
      setError(t("session.endFailed", { reason: errorText(err) }));
    }
  };
  const invite = async (to: Colleague) => {
    setError("");
    try {
      const res = await sessionClient.inviteAdvisor({ sessionId: s.id, advisorId: to.advisorId }, bearer(store.token));
      panel.session = res.session ?? s;
      return true;
    } catch (err) {
      setError(t("session.inviteFailed", { reason: errorText(err) }));
      return false;
    }
  };
  const transfer = async (to: Colleague, reason: string) => {
    setError("");
    try {
      await store.handOver(panel, async () => (await sessionClient.transferSession({ sessionId: s.id, toAdvisorId: to.advisorId, reason }, bearer(store.token))).session, to.displayName);
      return true;
    } catch (err) {
      setError(t("session.transferFailed", { reason: errorText(err) }));
      return false;
    }
  };

  return (
    <section
      class="panel card"
      aria-labelledby={`title-${id}`}
      data-session={s.id}
      tabIndex={-1}
      onFocusIn={() => {
        panel.focused = true;
        store.markRead(panel);
      }}
      onFocusOut={() => {
        panel.focused = false;
      }}
      onClick={() => store.markRead(panel)}
    >
      <header class="panel-head">
        <h2 id={`title-${id}`}>
          {name}
          {panel.isNew && <span class="tag new">{t("session.new")}</span>}
          {panel.unread > 0 && (
            <span class="badge unread" aria-label={t("session.unread", { count: panel.unread })}>
              {panel.unread}
            </span>
          )}
        </h2>
        {(ended || handedTo !== undefined) && (
          <button type="button" class="secondary small" aria-label={t("session.closeFor", { name })} onClick={() => store.closePanel(s.id)}>
            {t("session.close")}
          </button>
        )}
      </header>
      <details class="customer-details">
        <summary>{t("session.details")}</summary>
        <dl>
          {s.customer?.email && (
            <>
              <dt>{t("session.email")}</dt>
              <dd>{s.customer.email}</dd>
            </>
          )}
          {s.customer?.problemDescription && (
            <>
              <dt>{t("session.problem")}</dt>
              <dd>{s.customer.problemDescription}</dd>
            </>
          )}
          <dt>{t("session.platform")}</dt>
          <dd>
            {t(s.customerPlatform?.deviceType === DeviceType.MOBILE ? "device.MOBILE" : s.customerPlatform?.deviceType === DeviceType.DESKTOP ? "device.DESKTOP" : "device.UNSPECIFIED")}
          </dd>
          <dt>{t("session.started")}</dt>
          <dd>{formatDateTime(s.createTime ? timestampDate(s.createTime) : undefined)}</dd>
        </dl>
      </details>
      <MessageList items={conv.items()} label={t("session.logFor", { name })} onRetry={(cmid) => conv.retry(cmid)} />
      <p class="typing" aria-live="polite">
        {typing.length > 0 ? t("chat.typing", { name: typing.join(", ") }) : ""}
      </p>
      {up.offered && (
        <ol class="progress" aria-label={t("session.progress")}>
          <li class="done">{t("step.upgradeOffered")}</li>
          <li class={up.appConnected ? "done" : "todo"}>{t("step.openerRedeemed")}</li>
          <li class={up.screenShare === undefined ? "todo" : "done"}>
            {up.screenShare === false ? t("step.shareRefused") : t("step.shareAccepted")}
          </li>
          {up.webChatDisabled && <li class="done">{t("step.webChatDisabled")}</li>}
        </ol>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {handedTo !== undefined ? (
        <p class="ended-note" role="status">
          {t("session.handedTo", { name: handedTo })}
        </p>
      ) : ended ? (
        <p class="ended-note">{t("session.endedWith", { outcome: outcomeText(conv.outcome || s.outcome) })}</p>
      ) : (
        <>
          <form class="composer" onSubmit={submit}>
            <label for={`msg-${id}`} class="visually-hidden">
              {t("session.inputFor", { name })}
            </label>
            <textarea
              id={`msg-${id}`}
              rows={2}
              maxLength={4000}
              value={draft}
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
            <button type="submit" class="primary" disabled={!draft.trim()}>
              {t("chat.send")}
            </button>
          </form>
          {!leads && conv.advisorName && (
            <p class="lead-note" id={`lead-${id}`}>
              {t("session.ledBy", { name: conv.advisorName })}
            </p>
          )}
          <div class="actions">
            {leads && s.kind === SessionKind.WEB_CHAT && !up.offered && !confirming && (
              <button type="button" class="secondary" onClick={() => setConfirming(true)}>
                {t("session.upgrade")}
              </button>
            )}
            {leads && picking !== "invite" && (
              <button type="button" class="secondary" ref={inviteButton} onClick={() => setPicking("invite")}>
                {t("session.invite")}
              </button>
            )}
            {leads && picking !== "transfer" && (
              <button type="button" class="secondary" ref={transferButton} onClick={() => setPicking("transfer")}>
                {t("session.transfer")}
              </button>
            )}
            {leads && !ending && (
              <button type="button" class="secondary" onClick={() => setEnding(true)}>
                {t("session.end")}
              </button>
            )}
          </div>
          {leads && picking && (
            <ColleaguePicker
              key={picking}
              action={picking}
              id={id}
              name={name}
              token={store.token}
              onConfirm={async (to, reason) => {
                const ok = picking === "invite" ? await invite(to) : await transfer(to, reason);
                if (ok) {
                  closePicker();
                }
              }}
              onCancel={closePicker}
            />
          )}
          {leads && confirming && (
            <div class="confirm" role="alertdialog" aria-labelledby={`confirm-${id}`}>
              <p id={`confirm-${id}`}>{t("session.upgradeConfirm", { name })}</p>
              <button type="button" class="primary" ref={yes} onClick={upgrade}>
                {t("session.yes")}
              </button>{" "}
              <button type="button" class="secondary" onClick={() => setConfirming(false)}>
                {t("session.no")}
              </button>
            </div>
          )}
          {leads && ending && (
            <form class="end-form" onSubmit={end}>
              <fieldset>
                <legend>{t("session.outcome")}</legend>
                {outcomes.map((o) => (
                  <label key={o} class="radio">
                    <input type="radio" name="outcome" value={String(o)} checked={outcome === o} onChange={() => setOutcome(o)} /> {outcomeText(o)}
                  </label>
                ))}
              </fieldset>
              <label for={`notes-${id}`}>{t("session.notes")}</label>
              <textarea id={`notes-${id}`} name="notes" rows={2} maxLength={10000} />
              <button type="submit" class="primary">
                {t("session.endConfirm")}
              </button>{" "}
              <button type="button" class="secondary" onClick={() => setEnding(false)}>
                {t("session.cancel")}
              </button>
            </form>
          )}
        </>
      )}
    </section>
  );
}

// Arrivals tells the advisor, in a polite live region, of the chats
// colleagues brought them into, each until dismissed or shown.
function Arrivals({ store, onShow }: { store: ConsoleStore; onShow: (a: Arrival) => void }) {
  const shown = store.arrivals.filter((a) => a.by !== undefined);
  return (
    <div class="arrivals" role="status" aria-label={t("arrival.region")}>
      {shown.map((a) => {
        const text = arrivalText(a);
        return (
          <div key={a.id} class="arrival">
            <p>{text}</p>
            <div class="actions">
              <button type="button" class="primary" onClick={() => onShow(a)}>
                {t("arrival.show")}
              </button>
              <button type="button" class="secondary" aria-label={t("arrival.dismissFor", { text })} onClick={() => store.dismissArrival(a.id)}>
                {t("arrival.dismiss")}
              </button>
            </div>
          </div>
        );
      })}
    </div>
  );
}

function arrivalText(a: Arrival): string {
  const params = { by: a.by ?? "", name: a.customer };
  if (a.how === "invited") {
    return t(a.by ? "arrival.invitedBy" : "arrival.invited", params);
  }
  return t(a.by ? "arrival.handedBy" : "arrival.handed", params);
}

// ColleaguePicker is the inline panel of "Invite a colleague" and
// "Transfer the session": the account's other advisors, loaded when it
// opens, and for a transfer an optional reason.
function ColleaguePicker({
  action,
  id,
  name,
  token,
  onConfirm,
  onCancel,
}: {
  action: "invite" | "transfer";
  id: string;
  name: string;
  token: string;
  onConfirm: (to: Colleague, reason: string) => Promise<void>;
  onCancel: () => void;
}) {
  const [colleagues, setColleagues] = useState<Colleague[] | null>(null);
  const [loadError, setLoadError] = useState("");
  const [chosen, setChosen] = useState("");
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const select = useRef<HTMLSelectElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  const prefix = `${action}-${id}`;
  useEffect(() => {
    let live = true;
    sessionClient.listColleagues({}, bearer(token)).then(
      (res) => {
        if (live) {
          setColleagues(res.colleagues);
          setChosen(res.colleagues[0]?.advisorId ?? "");
        }
      },
      (err) => {
        if (live) {
          setLoadError(t("session.colleaguesFailed", { reason: errorText(err) }));
        }
      },
    );
    return () => {
      live = false;
    };
  }, [token]);
  // The first field once the list is in; with nothing to choose, Cancel.
  useEffect(() => {
    if (colleagues && colleagues.length > 0) {
      select.current?.focus();
    } else if (colleagues || loadError) {
      cancel.current?.focus();
    }
  }, [colleagues, loadError]);

  const submit = async (e: Event) => {
    e.preventDefault();
    const to = colleagues?.find((c) => c.advisorId === chosen);
    if (!to || busy) {
      return;
    }
    setBusy(true);
    await onConfirm(to, reason.trim());
    setBusy(false);
  };
  const ready = colleagues !== null && colleagues.length > 0;
  return (
    <form class="confirm" aria-labelledby={`${prefix}-title`} onSubmit={submit}>
      <p id={`${prefix}-title`}>{t(action === "invite" ? "session.inviteHeading" : "session.transferHeading", { name })}</p>
      {loadError ? (
        <p class="error" role="alert">
          {loadError}
        </p>
      ) : colleagues === null ? (
        <p class="muted" role="status">
          {t("session.colleaguesLoading")}
        </p>
      ) : colleagues.length === 0 ? (
        <p role="status">{t("session.noColleagues")}</p>
      ) : (
        <>
          <label for={`${prefix}-colleague`}>{t("session.colleague")}</label>
          <select id={`${prefix}-colleague`} ref={select} value={chosen} onChange={(e) => setChosen((e.currentTarget as HTMLSelectElement).value)}>
            {colleagues.map((c) => (
              <option key={c.advisorId} value={c.advisorId}>
                {c.displayName}
              </option>
            ))}
          </select>
          {action === "transfer" && (
            <>
              <label for={`${prefix}-reason`}>{t("session.reason")}</label>
              <input id={`${prefix}-reason`} type="text" maxLength={500} value={reason} onInput={(e) => setReason((e.currentTarget as HTMLInputElement).value)} />
            </>
          )}
        </>
      )}
      <div class="actions">
        {ready && (
          <button type="submit" class="primary" disabled={busy}>
            {t(action === "invite" ? "session.inviteConfirm" : "session.transferConfirm")}
          </button>
        )}
        <button type="button" class="secondary" ref={cancel} onClick={onCancel}>
          {t("session.cancel")}
        </button>
      </div>
    </form>
  );
}

const stateKey = {
  [SessionState.WAITING]: "history.state.WAITING",
  [SessionState.ACTIVE]: "history.state.ACTIVE",
  [SessionState.ENDED]: "history.state.ENDED",
} as const;

function History({ token, store }: { token: string; store: ConsoleStore }) {
  const [sessions, setSessions] = useState<Session[]>([]);
  const [next, setNext] = useState("");
  const [open, setOpen] = useState<{ session: Session; items: Item[] } | null>(null);
  const [error, setError] = useState("");
  const load = async (pageToken: string) => {
    try {
      const res = await sessionClient.listSessions({ pageSize: 20, pageToken }, bearer(token));
      setSessions((prev) => (pageToken ? [...prev, ...res.sessions] : res.sessions));
      setNext(res.nextPageToken);
    } catch (err) {
      setError(t("error.generic", { reason: errorText(err) }));
    }
  };
  useEffect(() => {
    void load("");
  }, [token]);
  const show = async (s: Session) => {
    try {
      const res = await chatClient.getTranscript({ sessionId: s.id }, bearer(token));
      const items = res.events.map((ev) => describe(ev, store.isMine(ev.author))).filter((x): x is Item => x !== null);
      setOpen({ session: s, items });
    } catch (err) {
      setError(t("error.generic", { reason: errorText(err) }));
    }
  };
  return (
    <div class="history">
      <section class="card" aria-labelledby="history-title">
        <h2 id="history-title">{t("history.heading")}</h2>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {sessions.length === 0 ? (
          <p class="muted">{t("history.empty")}</p>
        ) : (
          <ul class="history-list">
            {sessions.map((s) => {
              const name = s.customer?.displayName ?? "";
              return (
                <li key={s.id}>
                  <button type="button" class="history-row" aria-label={t("history.open", { name })} aria-pressed={open?.session.id === s.id} onClick={() => show(s)}>
                    <strong>{name}</strong>
                    <span>{formatDateTime(s.createTime ? timestampDate(s.createTime) : undefined)}</span>
                    <span>{s.state in stateKey ? t(stateKey[s.state as keyof typeof stateKey]) : ""}</span>
                    <span>{outcomeText(s.outcome)}</span>
                  </button>
                </li>
              );
            })}
          </ul>
        )}
        {next && (
          <button type="button" class="secondary" onClick={() => load(next)}>
            {t("history.more")}
          </button>
        )}
      </section>
      {open && (
        <section class="card history-log" aria-labelledby="history-log-title">
          <h2 id="history-log-title">
            {t("history.log")}: {open.session.customer?.displayName}
          </h2>
          <MessageList items={open.items} label={t("history.log")} />
        </section>
      )}
    </div>
  );
}
