// The portal's start form. Queue mode asks who the customer is; code mode
// adds the session code an advisor gave them (prefilled, with the name,
// from the link the console shares: /p/<slug>?code=123456&name=…); web
// mode lists the advisors online, refreshed while the form is shown.
import { useEffect, useRef, useState } from "preact/hooks";
import type { OnlineAdvisor, PublicPortal, StartSessionRequest } from "../../../../gen/ts/assist/v1/portal_service_pb.js";
import { DeviceType, OperatingSystem, PortalMode } from "../../../../gen/ts/assist/v1/session_pb.js";
import { Code, errorCode, errorText, portalClient, sleep } from "../shared/api";
import { t, type Key } from "../shared/i18n";
import { requestID, save, type Saved } from "./storage";

export const mobile = /Android|iPhone|iPad|iPod|Mobile/i.test(navigator.userAgent);

// How often a web-mode form asks who is online.
const advisorsRefreshMs = 15_000;

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

// What the shared link prefills. The code keeps its digits only ("482 913"
// read out on the phone and typed with a space is the same code).
const query = new URLSearchParams(location.search);
const linkCode = (query.get("code") ?? "").replace(/\D/g, "").slice(0, 6);
const linkName = (query.get("name") ?? "").trim().slice(0, 100);

// forgetLink drops the code and name from the address once the session has
// started: the code works once, and a new chat must not offer it again.
function forgetLink(): void {
  if (query.has("code") || query.has("name")) {
    history.replaceState(history.state, "", location.pathname);
  }
}

// Problem is what the form says went wrong, and which field it is about.
interface Problem {
  key: Key;
  params?: Record<string, string>;
  field?: "name" | "code";
}

export function StartForm({ slug, onStarted }: { slug: string; onStarted: (s: Saved) => void }) {
  const [portal, setPortal] = useState<PublicPortal | null>(null);
  const [missing, setMissing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [code, setCode] = useState(linkCode);
  // Web mode: the chosen advisor's id, "" for the first available.
  const [choice, setChoice] = useState("");
  const name = useRef<HTMLInputElement>(null);
  const email = useRef<HTMLInputElement>(null);
  const description = useRef<HTMLTextAreaElement>(null);
  const codeInput = useRef<HTMLInputElement>(null);

  const load = async () => {
    try {
      const res = await portalClient.getPortal({ portalSlug: slug });
      const p = res.portal ?? null;
      setPortal(p);
      return p;
    } catch (err) {
      if (errorCode(err) === Code.NotFound || errorCode(err) === Code.InvalidArgument) {
        setMissing(true);
      } else if (!portal) {
        setProblem({ key: "error.generic", params: { reason: errorText(err) } });
      }
      return null;
    }
  };
  useEffect(() => {
    void load();
  }, []);

  // Web mode: who is online changes while the customer fills the form.
  const web = portal?.mode === PortalMode.WEB;
  useEffect(() => {
    if (!web) {
      return;
    }
    const abort = new AbortController();
    (async () => {
      while (!abort.signal.aborted) {
        await sleep(advisorsRefreshMs, abort.signal);
        if (!abort.signal.aborted) {
          await load();
        }
      }
    })();
    const onVisible = () => {
      if (document.visibilityState === "visible") {
        void load();
      }
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      abort.abort();
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [web]);

  // A chosen advisor who went offline: back to the first available, and say so.
  const advisors = portal?.onlineAdvisors ?? [];
  const chosen = advisors.find((a) => a.advisorId === choice);
  const lastChosen = useRef<OnlineAdvisor | undefined>(undefined);
  useEffect(() => {
    if (choice && !chosen && lastChosen.current) {
      setProblem({ key: "start.advisorGone", params: { name: lastChosen.current.displayName } });
      setChoice("");
    }
    lastChosen.current = chosen;
  }, [choice, chosen]);

  // "Nobody is online" no longer holds once someone is.
  useEffect(() => {
    if (advisors.length > 0 && problem?.key === "start.nobodyNow") {
      setProblem(null);
    }
  }, [advisors.length]);

  // Focus goes to the field a problem is about.
  useEffect(() => {
    if (problem?.field) {
      const el = problem.field === "code" ? codeInput.current : name.current;
      el?.focus();
      el?.select();
    }
  }, [problem]);

  if (missing) {
    return (
      <section class="card narrow">
        <h1>{t("start.noPortal")}</h1>
      </section>
    );
  }

  const codeMode = portal?.mode === PortalMode.CODE;
  const submit = async (e: Event) => {
    e.preventDefault();
    const displayName = name.current!.value.trim();
    const digits = code.replace(/\D/g, "");
    if (codeMode && digits.length !== 6) {
      setProblem({ key: "start.codeMalformed", field: "code" });
      return;
    }
    if (!displayName) {
      setProblem({ key: "start.nameRequired", field: "name" });
      return;
    }
    // How the session reaches an advisor depends on the portal's mode.
    let routing: StartSessionRequest["routing"] = { case: undefined };
    if (codeMode) {
      routing = { case: "sessionCode", value: digits };
    } else if (web) {
      routing = choice ? { case: "advisorId", value: choice } : { case: "firstAvailableAdvisor", value: true };
    }
    setBusy(true);
    setProblem(null);
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await portalClient.startSession({
          portalSlug: slug,
          customer: { displayName, email: email.current!.value.trim(), problemDescription: description.current!.value.trim() },
          platform: platform(),
          routing,
          requestId: requestID(slug),
        });
        const waitingFor = res.session?.waitingForAdvisorId ?? "";
        const s: Saved = {
          sessionId: res.session!.id,
          token: res.customerToken,
          name: displayName,
          routed: waitingFor !== "",
          advisorName: advisors.find((a) => a.advisorId === waitingFor)?.displayName,
        };
        save(slug, s);
        forgetLink();
        onStarted(s);
        return;
      } catch (err) {
        if (errorCode(err) === Code.Unavailable && attempt < 5) {
          await sleep(500 * (attempt + 1));
          continue;
        }
        setBusy(false);
        setProblem(await explain(err, routing));
        return;
      }
    }
  };

  // explain turns a refused start into what the customer can do about it.
  const explain = async (err: unknown, routing: StartSessionRequest["routing"]): Promise<Problem> => {
    const c = errorCode(err);
    if (routing.case === "sessionCode") {
      if (c === Code.NotFound) {
        return { key: "start.codeUnknown", field: "code" };
      }
      if (c === Code.InvalidArgument && /session_code/.test(errorText(err))) {
        return { key: "start.codeMalformed", field: "code" };
      }
    }
    if ((routing.case === "advisorId" || routing.case === "firstAvailableAdvisor") && (c === Code.FailedPrecondition || c === Code.NotFound)) {
      await load();
      setChoice("");
      return routing.case === "advisorId" ? { key: "start.advisorGone", params: { name: chosen?.displayName ?? "" } } : { key: "start.nobodyNow" };
    }
    if (c === Code.ResourceExhausted) {
      return { key: "start.tooMany" };
    }
    return { key: "start.failed", params: { reason: errorText(err) } };
  };

  const codeProblem = problem?.field === "code";
  return (
    <section class="card narrow start">
      <h1>{portal ? portal.displayName : t("start.heading")}</h1>
      <p class="intro">{codeMode ? t("start.codeMode") : web ? t("start.webMode") : t("start.intro")}</p>
      <form onSubmit={submit} noValidate>
        {codeMode && (
          <>
            <label for="code">{t("start.code")}</label>
            <input
              id="code"
              ref={codeInput}
              class="code-input"
              name="code"
              inputMode="numeric"
              autocomplete="one-time-code"
              maxLength={7}
              required
              value={code}
              aria-describedby={codeProblem ? "code-hint start-error" : "code-hint"}
              aria-invalid={codeProblem || undefined}
              onInput={(e) => setCode((e.currentTarget as HTMLInputElement).value)}
            />
            <p id="code-hint" class="hint">
              {t("start.codeHint")}
            </p>
          </>
        )}
        <label for="name">{t("start.name")}</label>
        <input id="name" ref={name} name="name" autocomplete="name" required maxLength={100} defaultValue={linkName} />
        {web && portal && <AdvisorChoice advisors={advisors} choice={choice} onChoose={setChoice} />}
        <label for="email">{t("start.email")}</label>
        <input id="email" ref={email} name="email" type="email" autocomplete="email" maxLength={254} />
        <label for="problem">{t("start.problem")}</label>
        <textarea id="problem" ref={description} name="problem" rows={3} maxLength={2000} />
        {problem && (
          <p class="error" role="alert" id="start-error">
            {t(problem.key, problem.params)}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? t("start.starting") : t("start.submit")}
        </button>
      </form>
    </section>
  );
}

// AdvisorChoice is web mode's list: the first available advisor, then each
// advisor online, busy ones marked as such.
function AdvisorChoice({ advisors, choice, onChoose }: { advisors: OnlineAdvisor[]; choice: string; onChoose: (id: string) => void }) {
  const anyBusy = advisors.some((a) => !a.available);
  return (
    <fieldset class="advisors" aria-describedby="advisors-status">
      <legend>{t("start.advisor")}</legend>
      <label class="choice">
        <input type="radio" name="advisor" value="" checked={choice === ""} onChange={() => onChoose("")} />
        <span class="choice-name">{t("start.firstAvailable")}</span>
      </label>
      {advisors.map((a) => (
        <label class="choice" key={a.advisorId}>
          <input type="radio" name="advisor" value={a.advisorId} checked={choice === a.advisorId} onChange={() => onChoose(a.advisorId)} />
          <span class="choice-name">{a.displayName}</span>
          <span class={a.available ? "tag available" : "tag busy"}>{a.available ? t("start.available") : t("start.busy")}</span>
        </label>
      ))}
      <div id="advisors-status" role="status">
        {advisors.length === 0 ? (
          <p class="nobody">
            <strong>{t("start.nobodyOnline")}</strong> {t("start.nobodyOnlineHint")}
          </p>
        ) : (
          anyBusy && <p class="hint">{t("start.busyHint")}</p>
        )}
      </div>
    </fieldset>
  );
}
