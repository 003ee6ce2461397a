// ConsoleStore is the advisor console's state: the queue and the open
// sessions, fed by ONE WatchAdvisor stream (browsers over HTTP/1.1 hold six
// connections per origin; a stream per session would stall the console).
// Opening or closing a session restarts the stream with every cursor, so
// nothing is missed or shown twice.
import type { SessionEvent } from "../../../../gen/ts/assist/v1/event_pb.js";
import type { Portal } from "../../../../gen/ts/assist/v1/account_pb.js";
import type { SessionCode, WatchQueueResponse } from "../../../../gen/ts/assist/v1/session_service_pb.js";
import { ParticipantRole, PortalMode, SessionState, type Participant, type Session } from "../../../../gen/ts/assist/v1/session_pb.js";
import { bearer, Code, errorCode, sessionClient, sleep } from "../shared/api";
import { Conversation } from "../shared/conversation";

export interface Panel {
  session: Session;
  conv: Conversation;
  unread: number;
  focused: boolean;
  // Set while this advisor's transfer of the session is on its way, then
  // the name of whom it went to: the session is no longer theirs, so the
  // stream stops following it.
  handingOver: boolean;
  handedTo?: string;
  // A chat a colleague brought the advisor into, not yet looked at.
  isNew: boolean;
}

// Arrival tells the advisor of a session a colleague brought them into:
// invited into it, or handed it. by is the colleague's name, read from the
// log once it is in ("" if it could not be found); until then it is unset
// and the arrival is not shown.
export interface Arrival {
  id: number;
  sessionId: string;
  customer: string;
  how: "invited" | "handed";
  by?: string;
  // The seq of the session's last event when the server told us.
  atSeq: bigint;
}

// How long an arrival waits for the log to name the colleague before it
// is shown without a name.
const arrivalNameWaitMs = 4_000;

export class ConsoleStore {
  readonly token: string;
  readonly advisorId: string;
  queue: Session[] = [];
  panels: Panel[] = [];
  connected = true;
  // The portals the advisor serves, and their live session codes (code
  // mode), soonest to expire first.
  portals: Portal[] = [];
  codes: SessionCode[] = [];
  arrivals: Arrival[] = [];
  private arrivalSeq = 0;
  private abort?: AbortController;
  private queueSeen = false;
  private readonly changed: () => void;
  private readonly onLoggedOut: () => void;

  constructor(token: string, advisorId: string, changed: () => void, onLoggedOut: () => void) {
    this.token = token;
    this.advisorId = advisorId;
    this.changed = changed;
    this.onLoggedOut = onLoggedOut;
  }

  isMine = (p: Participant | undefined): boolean => p?.role === ParticipantRole.ADVISOR && p.id === this.advisorId;

  // start opens the sessions the advisor leads or joined, then the stream.
  async start(): Promise<void> {
    void this.loadPortals();
    try {
      const res = await sessionClient.listSessions({ state: SessionState.ACTIVE, pageSize: 100 }, bearer(this.token));
      for (const s of res.sessions) {
        this.addPanel(s);
      }
    } catch (err) {
      if (errorCode(err) === Code.Unauthenticated) {
        this.onLoggedOut();
        return;
      }
    }
    this.restart();
  }

  // codePortals are the served portals where the advisor may create codes.
  codePortals(): Portal[] {
    return this.portals.filter((p) => p.mode === PortalMode.CODE);
  }

  async loadPortals(): Promise<void> {
    try {
      this.portals = (await sessionClient.listServedPortals({}, bearer(this.token))).portals;
      this.changed();
      if (this.codePortals().length > 0) {
        await this.loadCodes();
      }
    } catch {
      // Without the list the console offers no codes; the queue still works.
    }
  }

  // loadCodes reads the live codes again: a customer may have used one.
  async loadCodes(): Promise<void> {
    try {
      this.codes = (await sessionClient.listSessionCodes({}, bearer(this.token))).sessionCodes;
      this.changed();
    } catch {
      // The last list stays; expired codes leave it by their time.
    }
  }

  // forMe tells whether a waiting session was sent to this advisor (their
  // session code, or their name picked on a web-mode portal).
  forMe(s: Session): boolean {
    return s.waitingForAdvisorId !== "" && s.waitingForAdvisorId === this.advisorId;
  }

  stop(): void {
    this.abort?.abort();
    for (const p of this.panels) {
      p.conv.stopTyping();
    }
  }

  addPanel(s: Session): Panel {
    const existing = this.panels.find((p) => p.session.id === s.id);
    if (existing) {
      return existing;
    }
    const panel: Panel = { session: s, conv: new Conversation(s.id, this.token, this.isMine, this.changed), unread: 0, focused: false, handingOver: false, isNew: false };
    this.panels = [...this.panels, panel];
    this.changed();
    return panel;
  }

  closePanel(id: string): void {
    this.panels = this.panels.filter((p) => p.session.id !== id);
    this.changed();
    this.restart();
  }

  markRead(panel: Panel): void {
    if (panel.unread !== 0 || panel.isNew) {
      panel.unread = 0;
      panel.isNew = false;
      this.changed();
    }
  }

  dismissArrival(id: number): void {
    this.arrivals = this.arrivals.filter((a) => a.id !== id);
    this.changed();
  }

  // join opens a session a colleague brought this advisor into (once:
  // one already open is only followed again, if it had been handed away),
  // and tells the advisor who did.
  private join(s: Session): void {
    let panel = this.panels.find((p) => p.session.id === s.id);
    if (!panel) {
      panel = this.addPanel(s);
      panel.isNew = true;
      this.restart();
    } else if (panel.handedTo !== undefined) {
      // Handed back to this advisor after they handed it away.
      panel.session = s;
      panel.handedTo = undefined;
      this.restart();
    }
    const arrival: Arrival = {
      id: ++this.arrivalSeq,
      sessionId: s.id,
      customer: s.customer?.displayName ?? "",
      how: s.advisorId === this.advisorId ? "handed" : "invited",
      atSeq: s.lastSeq,
    };
    this.arrivals = [...this.arrivals, arrival];
    this.nameArrivals(panel);
    setTimeout(() => {
      if (arrival.by === undefined) {
        arrival.by = "";
        this.arrivals = [...this.arrivals];
        this.changed();
      }
    }, arrivalNameWaitMs);
  }

  // nameArrivals finds, once panel's log has caught up with them, who
  // invited this advisor (the author of their ParticipantJoined) or handed
  // them the session (the SessionTransferred's from_advisor).
  private nameArrivals(panel: Panel): void {
    const conv = panel.conv;
    let named = false;
    for (const a of this.arrivals) {
      if (a.sessionId !== panel.session.id || a.by !== undefined || conv.cursor < a.atSeq) {
        continue;
      }
      a.by = "";
      for (let i = conv.events.length - 1; i >= 0; i--) {
        const ev = conv.events[i]!;
        if (ev.seq > a.atSeq) {
          continue;
        }
        const p = ev.payload;
        if (a.how === "invited" && p.case === "participantJoined" && this.isMine(p.value.participant)) {
          a.by = ev.author?.displayName ?? "";
          break;
        }
        if (a.how === "handed" && p.case === "sessionTransferred" && this.isMine(p.value.toAdvisor)) {
          a.by = p.value.fromAdvisor?.displayName ?? "";
          break;
        }
      }
      named = true;
    }
    if (named) {
      this.arrivals = [...this.arrivals];
      this.changed();
    }
  }

  // handOver runs transfer, the advisor's hand-over of panel's session;
  // once it succeeds the panel says so and the stream stops following the
  // session, which the advisor may no longer read.
  async handOver(panel: Panel, transfer: () => Promise<Session | undefined>, toName: string): Promise<void> {
    panel.handingOver = true;
    try {
      const s = await transfer();
      panel.session = s ?? panel.session;
      panel.handedTo = toName;
    } finally {
      panel.handingOver = false;
      this.changed();
      this.restart();
    }
  }

  // leads tells whether this advisor leads panel's session (only the lead
  // may upgrade, invite, transfer or end it).
  leads(panel: Panel): boolean {
    return panel.session.advisorId === this.advisorId && panel.session.state === SessionState.ACTIVE;
  }

  // unreadTotal counts the unread messages; a new chat with none counts one.
  unreadTotal(): number {
    return this.panels.reduce((n, p) => n + (p.unread === 0 && p.isNew ? 1 : p.unread), 0);
  }

  restart(): void {
    this.abort?.abort();
    this.abort = new AbortController();
    void this.run(this.abort.signal);
  }

  private async run(signal: AbortSignal): Promise<void> {
    let delay = 500;
    while (!signal.aborted) {
      let handedOver = false;
      const sessions = this.panels.filter((p) => !p.conv.ended && !p.handingOver && p.handedTo === undefined).map((p) => ({ sessionId: p.session.id, afterSeq: p.conv.cursor }));
      try {
        for await (const res of sessionClient.watchAdvisor({ watchQueue: true, sessions }, { ...bearer(this.token), signal })) {
          const k = res.kind;
          switch (k.case) {
            case "opened":
              this.connected = true;
              delay = 500;
              this.changed();
              break;
            case "queue":
              this.applyQueue(k.value);
              break;
            case "event":
              this.applyEvent(k.value);
              break;
          }
        }
      } catch (err) {
        if (signal.aborted) {
          return;
        }
        const code = errorCode(err);
        if (code === Code.Unauthenticated) {
          this.onLoggedOut();
          return;
        }
        // A session handed over ends the stream with NotFound: follow the
        // others again, without a "connection lost" banner.
        handedOver = code === Code.NotFound && this.panels.some((p) => p.handingOver || p.handedTo !== undefined);
      }
      if (signal.aborted) {
        return;
      }
      if (!handedOver) {
        this.connected = false;
        this.changed();
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 4_000);
    }
  }

  private applyQueue(q: WatchQueueResponse): void {
    const c = q.change;
    switch (c.case) {
      case "snapshot": {
        const before = new Set(this.queue.map((s) => s.id));
        this.queue = c.value.sessions;
        if (this.queueSeen && this.queue.some((s) => !before.has(s.id))) {
          chime();
        }
        if (this.queue.some((s) => !before.has(s.id) && this.forMe(s) && s.portalMode === PortalMode.CODE)) {
          void this.loadCodes();
        }
        this.queueSeen = true;
        break;
      }
      case "added":
        if (!this.queue.some((s) => s.id === c.value.id)) {
          this.queue = [...this.queue, c.value];
          chime();
          // A customer just used one of this advisor's codes.
          if (this.forMe(c.value) && c.value.portalMode === PortalMode.CODE) {
            void this.loadCodes();
          }
        }
        break;
      case "removed":
        this.queue = this.queue.filter((s) => s.id !== c.value.sessionId);
        break;
      case "joined":
        this.join(c.value);
        break;
    }
    this.changed();
  }

  private applyEvent(ev: SessionEvent): void {
    const panel = this.panels.find((p) => p.session.id === ev.sessionId);
    if (!panel) {
      return;
    }
    const fresh = panel.conv.apply(ev);
    if (fresh && this.arrivals.some((a) => a.sessionId === panel.session.id && a.by === undefined)) {
      this.nameArrivals(panel);
    }
    if (fresh && ev.payload.case === "message" && !this.isMine(ev.author) && (!panel.focused || document.hidden)) {
      panel.unread++;
      this.changed();
    }
    if (fresh && ev.payload.case === "sessionTransferred") {
      const to = ev.payload.value.toAdvisor;
      panel.session = { ...panel.session, advisorId: to?.id ?? panel.session.advisorId };
      // Handed over from another of this advisor's windows.
      if (this.isMine(ev.payload.value.fromAdvisor) && !panel.handingOver && panel.handedTo === undefined) {
        panel.handedTo = to?.displayName ?? "";
        this.restart();
      }
      this.changed();
    }
    if (fresh && ev.payload.case === "sessionEnded") {
      panel.session = { ...panel.session, state: SessionState.ENDED, outcome: ev.payload.value.outcome };
      this.changed();
    }
  }
}

// chime plays a short tone for a new arrival in the queue.
let audio: AudioContext | undefined;
function chime(): void {
  try {
    audio ??= new AudioContext();
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
    osc.connect(gain).connect(audio.destination);
    osc.start();
    osc.stop(audio.currentTime + 0.4);
  } catch {
    // no sound available
  }
}
