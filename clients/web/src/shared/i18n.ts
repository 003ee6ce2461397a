// The reader's language: chosen from the browser, switchable in the page,
// remembered in localStorage. Strings come from one catalogue per language.
import { signalLang } from "./lang-signal";
import { en, type Key } from "./en";
export type { Key };
import { fr } from "./fr";

export type Lang = "en" | "fr";
export const languages: Lang[] = ["en", "fr"];
const catalogues = { en, fr };
const storageKey = "assist.lang";

function detect(): Lang {
  try {
    const saved = localStorage.getItem(storageKey);
    if (saved === "en" || saved === "fr") {
      return saved;
    }
  } catch {
    // storage disabled: fall back to the browser's language
  }
  for (const l of navigator.languages ?? [navigator.language]) {
    const base = l.toLowerCase().slice(0, 2);
    if (base === "fr" || base === "en") {
      return base;
    }
  }
  return "en";
}

let current: Lang = detect();
document.documentElement.lang = current;

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  current = l;
  document.documentElement.lang = l;
  try {
    localStorage.setItem(storageKey, l);
  } catch {
    // not remembered, still switched
  }
  signalLang(l);
}

// t returns the string for key in the current language, with {name}
// placeholders replaced.
export function t(key: Key, params: Record<string, string | number> = {}): string {
  const s = catalogues[current][key] ?? en[key];
  return s.replace(/\{(\w+)\}/g, (_, k: string) => String(params[k] ?? ""));
}

export function formatTime(d: Date | undefined): string {
  if (!d) {
    return "";
  }
  return new Intl.DateTimeFormat(current, { hour: "2-digit", minute: "2-digit" }).format(d);
}

export function formatDateTime(d: Date | undefined): string {
  if (!d) {
    return "";
  }
  return new Intl.DateTimeFormat(current, { dateStyle: "medium", timeStyle: "short" }).format(d);
}
