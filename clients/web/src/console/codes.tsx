// Session codes, for advisors who serve a code-mode portal: create one
// (the portal, the customer's name if known), read it out large, copy the
// portal's link with the code and name in it, and see the live codes until
// a customer uses them or they expire.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { useEffect, useRef, useState } from "preact/hooks";
import type { SessionCode } from "../../../../gen/ts/assist/v1/session_service_pb.js";
import { bearer, Code, errorCode, errorText, sessionClient } from "../shared/api";
import { t } from "../shared/i18n";
import type { ConsoleStore } from "./store";

// How often the live codes are read again while there are some: a
// customer may have used one (a used code also refreshes them at once,
// when its session reaches the queue).
const codesRefreshMs = 30_000;

// How long "Link copied" stays on screen.
const copiedShownMs = 6_000;

// spaced shows six digits as two groups of three, easy to read out.
export function spaced(code: string): string {
  return code.length === 6 ? `${code.slice(0, 3)} ${code.slice(3)}` : code;
}

function expiresAt(c: SessionCode): number {
  return c.expireTime ? timestampDate(c.expireTime).getTime() : 0;
}

function timeLeft(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// copyText copies to the clipboard; where the Clipboard API is missing
// (a plain-http address other than localhost), through a selected field.
async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const field = document.createElement("textarea");
    field.value = text;
    field.setAttribute("readonly", "");
    field.style.position = "fixed";
    field.style.opacity = "0";
    document.body.append(field);
    field.select();
    try {
      return document.execCommand("copy");
    } catch {
      return false;
    } finally {
      field.remove();
    }
  }
}

// CodeDigits shows "482 913" and has screen readers spell the digits one
// by one, as the advisor reads them out.
function CodeDigits({ code }: { code: string }) {
  return (
    <>
      <span aria-hidden="true">{spaced(code)}</span>
      <span class="visually-hidden">{t("codes.spoken", { digits: code.split("").join(" ") })}</span>
    </>
  );
}

export function SessionCodes({ store }: { store: ConsoleStore }) {
  const portals = store.codePortals();
  const [creating, setCreating] = useState(false);
  const [portalId, setPortalId] = useState("");
  const [customer, setCustomer] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [latest, setLatest] = useState("");
  const [copied, setCopied] = useState<{ code: string; ok: boolean } | null>(null);
  const [now, setNow] = useState(Date.now());
  const createButton = useRef<HTMLButtonElement>(null);
  const firstField = useRef<HTMLSelectElement & HTMLInputElement>(null);
  const latestCopy = useRef<HTMLButtonElement>(null);
  const refocus = useRef<"create" | "latest" | null>(null);

  useEffect(() => {
    if (!copied) {
      return;
    }
    const timer = setTimeout(() => setCopied(null), copiedShownMs);
    return () => clearTimeout(timer);
  }, [copied]);

  const live = store.codes.filter((c) => expiresAt(c) > now);
  const hasLive = live.length > 0;
  // The countdowns tick while there are live codes; the list is read
  // again now and then.
  useEffect(() => {
    if (!hasLive) {
      return;
    }
    const tick = setInterval(() => setNow(Date.now()), 1_000);
    const refresh = setInterval(() => void store.loadCodes(), codesRefreshMs);
    return () => {
      clearInterval(tick);
      clearInterval(refresh);
    };
  }, [hasLive, store]);
  useEffect(() => {
    if (creating) {
      firstField.current?.focus();
    } else if (refocus.current === "create") {
      createButton.current?.focus();
    } else if (refocus.current === "latest") {
      latestCopy.current?.focus();
    }
    refocus.current = null;
  }, [creating]);

  if (portals.length === 0) {
    return null;
  }
  const slugOf = (id: string) => store.portals.find((p) => p.id === id)?.slug ?? "";
  const nameOf = (id: string) => store.portals.find((p) => p.id === id)?.displayName ?? "";
  const link = (c: SessionCode) => {
    const name = c.customerDisplayName ? `&name=${encodeURIComponent(c.customerDisplayName)}` : "";
    return `${location.origin}/p/${encodeURIComponent(slugOf(c.portalId))}?code=${c.code}${name}`;
  };
  // withdraw revokes a live code (given to the wrong person, or no longer
  // needed), so that it no longer works nor counts against the bound.
  const [withdrawn, setWithdrawn] = useState("");
  const withdraw = async (c: SessionCode) => {
    setCopied(null);
    try {
      await sessionClient.revokeSessionCode({ portalId: c.portalId, code: c.code }, bearer(store.token));
      setWithdrawn(t("codes.revoked", { code: spaced(c.code) }));
    } catch (err) {
      // Already used or expired: the list below says what is live.
      setWithdrawn(errorCode(err) === Code.NotFound ? t("codes.revokedAlready", { code: spaced(c.code) }) : t("codes.revokeFailed", { reason: errorText(err) }));
    }
    await store.loadCodes();
    // The withdrawn code's buttons are gone: focus goes back to creating.
    createButton.current?.focus();
  };

  const copy = async (c: SessionCode) => {
    setCopied({ code: c.code, ok: await copyText(link(c)) });
  };

  const create = async (e: Event) => {
    e.preventDefault();
    const portal = portalId || portals[0]!.id;
    setBusy(true);
    setError("");
    try {
      const res = await sessionClient.createSessionCode({ portalId: portal, customerDisplayName: customer.trim() }, bearer(store.token));
      const c = res.sessionCode!;
      store.codes = [...store.codes.filter((x) => x.code !== c.code), c].sort((a, b) => expiresAt(a) - expiresAt(b));
      setLatest(c.code);
      setCopied(null);
      setCustomer("");
      setNow(Date.now());
      refocus.current = "latest";
      setCreating(false);
      void store.loadCodes();
    } catch (err) {
      const code = errorCode(err);
      if (code === Code.ResourceExhausted) {
        await store.loadCodes();
        setError(store.codes.length > 0 ? t("codes.tooMany", { n: store.codes.length }) : t("codes.failed", { reason: errorText(err) }));
      } else {
        if (code === Code.NotFound || code === Code.FailedPrecondition) {
          void store.loadPortals();
        }
        setError(t("codes.failed", { reason: errorText(err) }));
      }
    } finally {
      setBusy(false);
    }
  };

  const shown = live.find((c) => c.code === latest);
  const others = live.filter((c) => c !== shown);
  return (
    <section class="codes" aria-labelledby="codes-title">
      <h2 id="codes-title">{t("codes.heading")}</h2>
      {!creating && (
        <>
          <p class="muted small">{t("codes.intro")}</p>
          <button type="button" class="primary" id="create-code" ref={createButton} onClick={() => {
              setError("");
              setCreating(true);
            }}
          >
            {t("codes.create")}
          </button>
        </>
      )}
      {creating && (
        <form class="confirm code-form" aria-labelledby="code-form-title" onSubmit={create}>
          <p id="code-form-title">{t("codes.create")}</p>
          {portals.length > 1 && (
            <>
              <label for="code-portal">{t("codes.portal")}</label>
              <select id="code-portal" ref={firstField} value={portalId || portals[0]!.id} onChange={(e) => setPortalId((e.currentTarget as HTMLSelectElement).value)}>
                {portals.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.displayName}
                  </option>
                ))}
              </select>
            </>
          )}
          <label for="code-customer">{t("codes.customer")}</label>
          <input
            id="code-customer"
            ref={portals.length > 1 ? undefined : firstField}
            type="text"
            maxLength={100}
            autocomplete="off"
            value={customer}
            onInput={(e) => setCustomer((e.currentTarget as HTMLInputElement).value)}
          />
          {error && (
            <p class="error" role="alert" id="code-error">
              {error}
            </p>
          )}
          <div class="actions">
            <button type="submit" class="primary" disabled={busy}>
              {busy ? t("codes.creating") : t("codes.createConfirm")}
            </button>
            <button
              type="button"
              class="secondary"
              onClick={() => {
                refocus.current = "create";
                setCreating(false);
              }}
            >
              {t("session.cancel")}
            </button>
          </div>
        </form>
      )}
      {shown && (
        <div class="new-code" id="new-code">
          <p class="new-code-title">{shown.customerDisplayName ? t("codes.newFor", { name: shown.customerDisplayName }) : t("codes.new")}</p>
          <p class="code-big">
            <CodeDigits code={shown.code} />
          </p>
          <p class="muted small">
            {portals.length > 1 && `${t("codes.on", { portal: nameOf(shown.portalId) })} · `}
            <span class="expiry">{t("codes.expiresIn", { time: timeLeft(expiresAt(shown) - now) })}</span>
          </p>
          <label for="code-link">{t("codes.link")}</label>
          <input id="code-link" type="text" readOnly value={link(shown)} onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
          <div class="actions">
            <button type="button" class="secondary" ref={latestCopy} onClick={() => copy(shown)}>
              {t("codes.copy")}
            </button>
            <button type="button" class="secondary" aria-label={t("codes.revokeFor", { code: spaced(shown.code) })} onClick={() => withdraw(shown)}>
              {t("codes.revoke")}
            </button>
          </div>
        </div>
      )}
      <p class="copied small" role="status">
        {copied ? (copied.ok ? t("codes.copied") : t("codes.copyFailed")) : withdrawn}
      </p>
      {others.length > 0 && (
        <>
          <h3>{t("codes.live")}</h3>
          <ul class="code-list">
            {others.map((c) => (
              <li key={c.code} class="code-item">
                <div>
                  <strong class="code-small">
                    <CodeDigits code={c.code} />
                  </strong>
                  {c.customerDisplayName && <span> {t("codes.for", { name: c.customerDisplayName })}</span>}
                  <p class="muted small">
                    {portals.length > 1 && `${t("codes.on", { portal: nameOf(c.portalId) })} · `}
                    <span class="expiry">{t("codes.expiresIn", { time: timeLeft(expiresAt(c) - now) })}</span>
                  </p>
                </div>
                <div class="code-actions">
                  <button type="button" class="secondary small" aria-label={t("codes.copyFor", { code: spaced(c.code) })} onClick={() => copy(c)}>
                    {t("codes.copy")}
                  </button>
                  <button type="button" class="secondary small" aria-label={t("codes.revokeFor", { code: spaced(c.code) })} onClick={() => withdraw(c)}>
                    {t("codes.revoke")}
                  </button>
                </div>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
