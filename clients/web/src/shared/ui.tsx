// Pieces both apps use: the message list, the language switch, and a hook
// that re-renders on a language switch.
import { useEffect, useLayoutEffect, useReducer, useRef } from "preact/hooks";
import { formatTime, lang, languages, setLang, t, type Lang } from "./i18n";
import { onLang } from "./lang-signal";
import type { Item } from "./conversation";

export function useLangRerender(): void {
  const [, bump] = useReducer((n: number) => n + 1, 0);
  useEffect(() => onLang(() => bump(1)), []);
}

export function LangSwitch() {
  return (
    <label class="lang">
      <span class="visually-hidden">{t("lang.switch")}</span>
      <select value={lang()} onChange={(e) => setLang((e.currentTarget as HTMLSelectElement).value as Lang)} aria-label={t("lang.switch")}>
        {languages.map((l) => (
          <option value={l} lang={l} key={l}>
            {l === "en" ? "English" : "Français"}
          </option>
        ))}
      </select>
    </label>
  );
}

interface ListProps {
  items: Item[];
  label: string;
  onRetry?: (clientMessageId: string) => void;
  footer?: preact.ComponentChildren;
  id?: string;
}

// MessageList is the log: role="log" with polite announcements, scrolled to
// the newest item unless the reader scrolled up.
export function MessageList({ items, label, onRetry, footer, id }: ListProps) {
  const ref = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && stick.current) {
      el.scrollTop = el.scrollHeight;
    }
  });
  return (
    <div
      class="log"
      ref={ref}
      id={id}
      role="log"
      aria-live="polite"
      aria-label={label}
      tabIndex={0}
      onScroll={(e) => {
        const el = e.currentTarget as HTMLDivElement;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      }}
    >
      <ol class="items">
        {items.map((it) => (
          <li key={it.key} class={`item ${it.kind} ${it.mine ? "mine" : "theirs"}`} data-status={it.status} data-cmid={it.clientMessageId}>
            {it.kind === "message" ? (
              <div class="bubble">
                <div class="meta">
                  <span class="author">{it.author}</span> <time dateTime={it.time?.toISOString()}>{formatTime(it.time)}</time>
                </div>
                <p class="text">{it.text}</p>
                {it.status && (
                  <div class={`status ${it.status}`}>
                    {it.status === "sending" && t("chat.sending")}
                    {it.status === "sent" && t("chat.sent")}
                    {it.status === "failed" && (
                      <>
                        <span role="alert">{t("chat.failed")}{it.error ? ` (${it.error})` : ""}</span>{" "}
                        {onRetry && it.clientMessageId && (
                          <button type="button" class="link-button retry" onClick={() => onRetry(it.clientMessageId!)}>
                            {t("chat.retry")}
                          </button>
                        )}
                      </>
                    )}
                  </div>
                )}
              </div>
            ) : (
              <p class="notice-text">
                <time dateTime={it.time?.toISOString()}>{formatTime(it.time)}</time> {it.text}
                {it.link && (
                  <>
                    {" "}
                    <a class="opener-link" href={it.link}>
                      {t("chat.upgradeLink")}
                    </a>
                  </>
                )}
              </p>
            )}
          </li>
        ))}
      </ol>
      {footer}
    </div>
  );
}
