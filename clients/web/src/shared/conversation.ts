// Conversation is one session's log as a reader sees it: the stored events
// in seq order (each once, whatever the stream replays), the messages this
// reader is sending, and who is typing. Both apps feed it events from
// their stream and render its items.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { SessionEvent } from "../../../../gen/ts/assist/v1/event_pb.js";
import { SystemNoticeCode } from "../../../../gen/ts/assist/v1/event_pb.js";
import { ParticipantRole, SessionOutcome, type Participant } from "../../../../gen/ts/assist/v1/session_pb.js";
import { bearer, chatClient, errorText, newID, sleep, transient } from "./api";
import { t, type Key } from "./i18n";

export type Status = "sending" | "sent" | "failed";

export interface Item {
  key: string;
  kind: "message" | "notice";
  mine: boolean;
  role: ParticipantRole;
  author: string;
  text: string;
  time?: Date;
  status?: Status;
  clientMessageId?: string;
  error?: string;
  // For the upgrade notice: the opener link.
  link?: string;
}

interface Pending {
  clientMessageId: string;
  text: string;
  status: Status;
  time: Date;
  error?: string;
}

export interface UpgradeProgress {
  offered?: { openerUrl: string; seq: bigint };
  appConnected: boolean;
  screenShare?: boolean;
  webChatDisabled: boolean;
}

// How long a send keeps retrying a transient failure before showing
// "not sent" with a retry button.
const sendRetryWindowMs = 30_000;
const typingShownMs = 6_000;

export class Conversation {
  readonly sessionId: string;
  private readonly token: string;
  private readonly isMine: (p: Participant | undefined) => boolean;
  private readonly changed: () => void;
  readonly events: SessionEvent[] = [];
  cursor = 0n;
  private pending = new Map<string, Pending>();
  private typingNow = new Map<string, { name: string; timer: ReturnType<typeof setTimeout> }>();
  private typingActive = false;
  private typingIdle?: ReturnType<typeof setTimeout>;
  private lastTypingSent = 0;
  ended = false;
  outcome = SessionOutcome.UNSPECIFIED;
  advisorName = "";
  // The advisor a code- or web-mode session waits for, from the waiting
  // notice; empty for queue mode, and once the session went back to its
  // portal's queue (backInQueue) because that advisor left.
  waitingForName = "";
  backInQueue = false;
  upgrade: UpgradeProgress = { appConnected: false, webChatDisabled: false };

  constructor(sessionId: string, token: string, isMine: (p: Participant | undefined) => boolean, changed: () => void) {
    this.sessionId = sessionId;
    this.token = token;
    this.isMine = isMine;
    this.changed = changed;
  }

  // apply takes one event from the stream. A stored event is kept only if
  // it is the next one (seq = cursor + 1): a replayed one is dropped, so
  // nothing shows twice. It returns true for a new stored event.
  apply(ev: SessionEvent): boolean {
    if (ev.seq === 0n) {
      if (ev.payload.case === "typing" && !this.isMine(ev.author)) {
        this.setTyping(ev.author, ev.payload.value.active);
      }
      return false;
    }
    if (ev.seq !== this.cursor + 1n) {
      return false;
    }
    this.cursor = ev.seq;
    this.events.push(ev);
    const p = ev.payload;
    switch (p.case) {
      case "message":
        if (ev.clientMessageId) {
          this.pending.delete(ev.clientMessageId);
        }
        this.setTyping(ev.author, false);
        break;
      case "participantJoined":
        // The first advisor to join leads; an invited one does not take
        // the customer's header (only a transfer changes who leads).
        if (p.value.participant?.role === ParticipantRole.ADVISOR && !this.advisorName) {
          this.advisorName = p.value.participant.displayName;
        }
        break;
      case "sessionTransferred":
        this.advisorName = p.value.toAdvisor?.displayName ?? this.advisorName;
        break;
      case "systemNotice":
        if (p.value.code === SystemNoticeCode.WAITING_FOR_ADVISOR && p.value.subject) {
          this.waitingForName = p.value.subject.displayName;
        }
        if (p.value.code === SystemNoticeCode.BACK_IN_QUEUE) {
          this.waitingForName = "";
          this.backInQueue = true;
        }
        break;
      case "upgradeOffered":
        this.upgrade = { ...this.upgrade, offered: { openerUrl: p.value.openerUrl, seq: ev.seq } };
        break;
      case "openerRedeemed":
        this.upgrade = { ...this.upgrade, appConnected: true };
        break;
      case "screenShareAnswered":
        this.upgrade = { ...this.upgrade, screenShare: p.value.accepted };
        break;
      case "webChatDisabled":
        this.upgrade = { ...this.upgrade, webChatDisabled: true };
        break;
      case "sessionEnded":
        this.ended = true;
        this.outcome = p.value.outcome;
        for (const [, p] of this.pending) {
          if (p.status === "sending") {
            p.status = "failed";
          }
        }
        break;
    }
    this.changed();
    return true;
  }

  private setTyping(author: Participant | undefined, active: boolean): void {
    const key = `${author?.role ?? 0}:${author?.id ?? ""}`;
    const was = this.typingNow.get(key);
    if (was) {
      clearTimeout(was.timer);
      this.typingNow.delete(key);
    }
    if (active) {
      const timer = setTimeout(() => {
        this.typingNow.delete(key);
        this.changed();
      }, typingShownMs);
      this.typingNow.set(key, { name: author?.displayName ?? "", timer });
    }
    if (was || active) {
      this.changed();
    }
  }

  typingNames(): string[] {
    return [...this.typingNow.values()].map((v) => v.name);
  }

  // send stores a message: "sending" until acknowledged, retried with the
  // same client message id on transient failures, "failed" otherwise.
  // Messages go out one at a time, in the order written, so a cut cannot
  // reorder them.
  send(text: string): void {
    const p: Pending = { clientMessageId: newID(), text, status: "sending", time: new Date() };
    this.pending.set(p.clientMessageId, p);
    this.outbox.push(p);
    this.stopTyping();
    this.changed();
    void this.pump();
  }

  // retry resends a failed message with its own client message id, so the
  // server stores it once even if an earlier attempt got through.
  retry(clientMessageId: string): void {
    const p = this.pending.get(clientMessageId);
    if (p && p.status === "failed") {
      p.status = "sending";
      p.error = undefined;
      this.outbox.push(p);
      this.changed();
      void this.pump();
    }
  }

  private outbox: Pending[] = [];
  private pumping = false;

  private async pump(): Promise<void> {
    if (this.pumping) {
      return;
    }
    this.pumping = true;
    try {
      while (this.outbox.length > 0) {
        const p = this.outbox[0]!;
        const ok = await this.deliver(p);
        this.outbox.shift();
        if (!ok && p.status === "failed" && p.error === undefined) {
          // The network stayed down: what was written after it waits for
          // the person to retry, in order.
          for (const q of this.outbox) {
            q.status = "failed";
          }
          this.outbox = [];
        }
        this.changed();
      }
    } finally {
      this.pumping = false;
    }
  }

  // deliver sends p until it is stored (true), refused (false, with the
  // reason in p.error), or the retry window passes (false, no reason).
  private async deliver(p: Pending): Promise<boolean> {
    const deadline = Date.now() + sendRetryWindowMs;
    let delay = 300;
    for (;;) {
      try {
        await chatClient.send(
          { sessionId: this.sessionId, content: { case: "message", value: { clientMessageId: p.clientMessageId, text: p.text } } },
          { ...bearer(this.token), timeoutMs: 10_000 },
        );
        p.status = "sent";
        return true;
      } catch (err) {
        if (!transient(err)) {
          p.status = "failed";
          p.error = errorText(err);
          return false;
        }
        if (Date.now() + delay > deadline) {
          p.status = "failed";
          return false;
        }
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 2_000);
    }
  }

  // typed is called on each keystroke: it signals typing, at most every
  // few seconds, and its end after a pause.
  typed(): void {
    if (this.ended) {
      return;
    }
    const now = Date.now();
    if (!this.typingActive || now - this.lastTypingSent > 3_000) {
      this.typingActive = true;
      this.lastTypingSent = now;
      this.signalTyping(true);
    }
    clearTimeout(this.typingIdle);
    this.typingIdle = setTimeout(() => this.stopTyping(), 4_000);
  }

  stopTyping(): void {
    clearTimeout(this.typingIdle);
    if (this.typingActive) {
      this.typingActive = false;
      this.signalTyping(false);
    }
  }

  private signalTyping(active: boolean): void {
    chatClient
      .send({ sessionId: this.sessionId, content: { case: "typing", value: { active } } }, { ...bearer(this.token), timeoutMs: 5_000 })
      .catch(() => {
        // Typing is best effort.
      });
  }

  // items is what the message list shows: the log, then the messages still
  // on their way.
  items(): Item[] {
    const out: Item[] = [];
    const opener = this.upgrade.offered?.openerUrl;
    const hasNotice = this.events.some((ev) => ev.payload.case === "systemNotice" && ev.payload.value.code === SystemNoticeCode.UPGRADE_STARTED);
    for (const ev of this.events) {
      const item = describe(ev, this.isMine(ev.author));
      if (!item) {
        continue;
      }
      // The opener link goes with the automatic notice that announces it.
      const p = ev.payload;
      if (p.case === "systemNotice" && p.value.code === SystemNoticeCode.UPGRADE_STARTED) {
        item.link = opener;
      } else if (p.case === "upgradeOffered" && hasNotice) {
        item.link = undefined;
      }
      out.push(item);
    }
    for (const p of this.pending.values()) {
      out.push({
        key: `p-${p.clientMessageId}`,
        kind: "message",
        mine: true,
        role: ParticipantRole.UNSPECIFIED,
        author: t("chat.you"),
        text: p.text,
        time: p.time,
        status: p.status,
        clientMessageId: p.clientMessageId,
        error: p.error,
      });
    }
    return out;
  }
}

const noticeKeys: Partial<Record<SystemNoticeCode, Key>> = {
  [SystemNoticeCode.WEB_CHAT_STARTED]: "notice.WEB_CHAT_STARTED",
  [SystemNoticeCode.UPGRADE_STARTED]: "notice.UPGRADE_STARTED",
  [SystemNoticeCode.WAITING_FOR_ADVISOR]: "notice.WAITING_FOR_ADVISOR",
};

// describe turns a stored event into a list item in the reader's language,
// or null for events the list does not show (state changes).
export function describe(ev: SessionEvent, mine: boolean): Item | null {
  const base = {
    key: `e-${ev.seq}`,
    mine,
    role: ev.author?.role ?? ParticipantRole.UNSPECIFIED,
    author: mine ? t("chat.you") : (ev.author?.displayName ?? ""),
    time: ev.createTime ? timestampDate(ev.createTime) : undefined,
  };
  const notice = (text: string, link?: string): Item => ({ ...base, kind: "notice", text, link });
  const p = ev.payload;
  switch (p.case) {
    case "message":
      return { ...base, kind: "message", text: p.value.text, status: mine ? "sent" : undefined, clientMessageId: ev.clientMessageId };
    case "systemNotice": {
      if (p.value.code === SystemNoticeCode.WAITING_FOR_ADVISOR && p.value.subject) {
        return notice(t("notice.WAITING_FOR_NAMED_ADVISOR", { name: p.value.subject.displayName }));
      }
      if (p.value.code === SystemNoticeCode.BACK_IN_QUEUE) {
        return notice(t("notice.BACK_IN_QUEUE", { name: p.value.subject?.displayName ?? "" }));
      }
      const key = noticeKeys[p.value.code];
      return notice(key ? t(key) : p.value.text);
    }
    case "participantJoined":
      return notice(t("step.joined", { name: p.value.participant?.displayName ?? "" }));
    case "participantLeft":
      return notice(t("step.left", { name: p.value.participant?.displayName ?? "" }));
    case "sessionTransferred": {
      const names = { from: p.value.fromAdvisor?.displayName ?? "", to: p.value.toAdvisor?.displayName ?? "" };
      return notice(p.value.reason ? t("step.transferredBecause", { ...names, reason: p.value.reason }) : t("step.transferred", names));
    }
    case "upgradeOffered":
      return notice(t("step.upgradeOffered"), p.value.openerUrl);
    case "openerRedeemed":
      return notice(t("step.openerRedeemed"));
    case "screenShareAnswered":
      return notice(t(p.value.accepted ? "step.shareAccepted" : "step.shareRefused"));
    case "webChatDisabled":
      return notice(t("step.webChatDisabled"));
    case "sessionEnded":
      return notice(t("step.ended"));
    default:
      return null;
  }
}
