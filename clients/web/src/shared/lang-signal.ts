// Re-render hooks for a language switch.
const listeners = new Set<(l: string) => void>();

export function signalLang(l: string): void {
  for (const fn of listeners) {
    fn(l);
  }
}

export function onLang(fn: (l: string) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
