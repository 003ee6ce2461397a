// The customer's session for this tab: kept in sessionStorage (never in the
// URL), so a reload restores the chat and closing the tab forgets it.
export interface Saved {
  sessionId: string;
  token: string;
  name: string;
  // Code and web mode: the session waits for one advisor; their name when
  // the page knows it (web mode), so the wait can say who is coming.
  routed?: boolean;
  advisorName?: string;
}

function key(slug: string): string {
  return `assist.customer.${slug}`;
}

export function loadSaved(slug: string): Saved | null {
  try {
    const raw = sessionStorage.getItem(key(slug));
    return raw ? (JSON.parse(raw) as Saved) : null;
  } catch {
    return null;
  }
}

export function save(slug: string, s: Saved): void {
  sessionStorage.setItem(key(slug), JSON.stringify(s));
}

export function forget(slug: string): void {
  sessionStorage.removeItem(key(slug));
  sessionStorage.removeItem(`${key(slug)}.request`);
}

// requestID is the idempotency key of this tab's StartSession: a retried
// start returns the same session.
export function requestID(slug: string): string {
  const k = `${key(slug)}.request`;
  let id = sessionStorage.getItem(k);
  if (!id) {
    id = crypto.randomUUID();
    sessionStorage.setItem(k, id);
  }
  return id;
}

// Which opener downloads this tab already started, so a reload does not
// start them again.
export function downloadStarted(sessionId: string, seq: bigint): boolean {
  const k = `assist.opener.${sessionId}.${seq}`;
  if (sessionStorage.getItem(k)) {
    return true;
  }
  sessionStorage.setItem(k, "1");
  return false;
}
