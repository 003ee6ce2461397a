// Browser smoke test page: a customer's web chat reduced to its wire calls,
// with @connectrpc/connect-web over fetch, as a real browser page would.
//
// Open it as index.html?api=http://127.0.0.1:PORT (the API on another origin,
// so CORS is exercised). It starts a session on the demo portal, subscribes
// to the session's log (server stream), says "ready" once the log flows,
// and answers the first advisor message T with "got: T". The outcome is in
// #status and in document.body.dataset.status: "done", or "error" with the
// message in #status. server/internal/e2e/browser_test.go builds it with
// esbuild, serves it, plays the advisor, and drives it with drive.mjs.

import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { ChatService } from "../../../gen/ts/assist/v1/chat_service_pb.js";
import { PortalService } from "../../../gen/ts/assist/v1/portal_service_pb.js";
import { ParticipantRole } from "../../../gen/ts/assist/v1/session_pb.js";

const portalSlug = "demo";
const customerName = "Browser customer";

function statusElement(): HTMLElement {
  let el = document.getElementById("status");
  if (!el) {
    el = document.createElement("p");
    el.id = "status";
    document.body.append(el);
  }
  return el;
}

function setStatus(status: "running" | "done" | "error", text: string): void {
  document.body.dataset.status = status;
  statusElement().textContent = text;
}

// log shows a line on the page and on the console (drive.mjs forwards it).
function log(line: string): void {
  console.log(line);
  const list = document.getElementById("log");
  if (list) {
    const item = document.createElement("li");
    item.textContent = line;
    list.append(item);
  }
}

async function run(): Promise<void> {
  const api = new URLSearchParams(location.search).get("api");
  if (!api) {
    throw new Error("no ?api=<base URL of assistd> in the page's address");
  }
  const transport = createConnectTransport({ baseUrl: api });
  const portal = createClient(PortalService, transport);
  const chat = createClient(ChatService, transport);

  setStatus("running", "starting a session");
  const started = await portal.startSession({
    portalSlug,
    customer: { displayName: customerName },
    requestId: crypto.randomUUID(),
  });
  const sessionId = started.session?.id ?? "";
  if (!sessionId || !started.customerToken) {
    throw new Error("StartSession returned no session id or no customer token");
  }
  const headers = { Authorization: `Bearer ${started.customerToken}` };
  log(`session ${sessionId} started`);

  const send = async (text: string): Promise<void> => {
    const res = await chat.send(
      {
        sessionId,
        content: { case: "message", value: { clientMessageId: crypto.randomUUID(), text } },
      },
      { headers },
    );
    log(`sent seq ${res.event?.seq}: ${text}`);
  };

  const abort = new AbortController();
  let saidReady = false;
  let replied = false;
  try {
    setStatus("running", "subscribing, then waiting for the advisor");
    for await (const res of chat.subscribe({ sessionId, afterSeq: 0n }, { headers, signal: abort.signal })) {
      const ev = res.event;
      if (!ev) {
        continue;
      }
      log(`event seq ${ev.seq}: ${ev.payload.case ?? "(none)"} by ${ParticipantRole[ev.author?.role ?? ParticipantRole.UNSPECIFIED]}`);
      if (!saidReady) {
        // The log flows: the advisor may now talk to us live.
        saidReady = true;
        await send("ready");
      }
      if (ev.payload.case === "message" && ev.author?.role === ParticipantRole.ADVISOR && !replied) {
        replied = true;
        await send(`got: ${ev.payload.value.text}`);
        setStatus("done", `done: answered "${ev.payload.value.text}"`);
        abort.abort();
        return;
      }
    }
    throw new Error("the Subscribe stream ended before an advisor message arrived");
  } catch (err) {
    if (replied && ConnectError.from(err).code === Code.Canceled) {
      return; // our own abort after the reply
    }
    throw err;
  }
}

run().catch((err: unknown) => {
  // A ConnectError's message starts with its code, e.g. "[unavailable] ...".
  const msg = err instanceof Error ? err.message : String(err);
  console.error(`error: ${msg}`);
  setStatus("error", `error: ${msg}`);
});
