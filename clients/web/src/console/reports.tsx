// Session reports, for advisors with report access and admins: the
// account's ended sessions with the filters a team lead uses, one report
// with its timeline and chat log (saved as .txt), and the CSV export of
// what the filters select. The server decides who may read them: an
// advisor without access who gets here is shown its refusal.
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Duration, type Timestamp } from "@bufbuild/protobuf/wkt";
import { useEffect, useRef, useState } from "preact/hooks";
import {
  ExportSessionReportsRequestSchema,
  ListSessionReportsRequestSchema,
  SessionAdvisorRole,
  type SessionReport,
} from "../../../../gen/ts/assist/v1/report_service_pb.js";
import { ParticipantRole, DeviceType, OperatingSystem, SessionKind, SessionOutcome } from "../../../../gen/ts/assist/v1/session_pb.js";
import { bearer, Code, errorCode, errorText, reportClient } from "../shared/api";
import { describe, type Item } from "../shared/conversation";
import { formatDateTime, lang, t, type Key } from "../shared/i18n";
import { MessageList } from "../shared/ui";


const pageSize = 25;
// How long the search box waits for the typing to pause before it asks.
const queryDelayMs = 350;

export interface ReportsProps {
  token: string;
  advisorId: string;
  advisorName: string;
  admin: boolean;
}

// Filters as the form holds them; dates are the <input type=date> values.
interface Filters {
  from: string;
  to: string;
  portalId: string;
  advisorId: string;
  outcome: SessionOutcome;
  kind: SessionKind;
  query: string;
}

const noFilters: Filters = { from: "", to: "", portalId: "", advisorId: "", outcome: SessionOutcome.UNSPECIFIED, kind: SessionKind.UNSPECIFIED, query: "" };

function filtered(f: Filters): boolean {
  return JSON.stringify(f) !== JSON.stringify(noFilters);
}

// localDay is midnight at the start of a yyyy-mm-dd day, in the reader's
// time zone, plus days.
function localDay(value: string, days = 0): Timestamp | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  return m ? timestampFromDate(new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]) + days)) : undefined;
}

// The request fields both ListSessionReports and ExportSessionReports
// take; the "to" day is included whole.
function filterFields(f: Filters) {
  return {
    endTimeFrom: localDay(f.from),
    endTimeTo: localDay(f.to, 1),
    portalId: f.portalId,
    advisorId: f.advisorId,
    outcome: f.outcome,
    kind: f.kind,
    query: f.query.trim(),
  };
}

function checkDates(f: Filters): Msg | null {
  return f.from && f.to && f.to < f.from ? { key: "reports.badDates" } : null;
}

function date(ts: Timestamp | undefined): Date | undefined {
  return ts ? timestampDate(ts) : undefined;
}

// formatDuration says "1 h 5 min", "3 min 12 s", "40 s" in the reader's
// language.
export function formatDuration(d: Duration | undefined): string {
  if (!d) {
    return "";
  }
  const total = Math.max(0, Math.round(Number(d.seconds) + d.nanos / 1e9));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const unit = (n: number, u: "hour" | "minute" | "second") => new Intl.NumberFormat(lang(), { style: "unit", unit: u, unitDisplay: "short" }).format(n);
  if (h > 0) {
    return m > 0 ? `${unit(h, "hour")} ${unit(m, "minute")}` : unit(h, "hour");
  }
  if (m > 0) {
    return s > 0 ? `${unit(m, "minute")} ${unit(s, "second")}` : unit(m, "minute");
  }
  return unit(s, "second");
}

const outcomeKeys: Record<SessionOutcome, Key> = {
  [SessionOutcome.UNSPECIFIED]: "reports.outcome.none",
  [SessionOutcome.RESOLVED]: "outcome.RESOLVED",
  [SessionOutcome.UNRESOLVED]: "outcome.UNRESOLVED",
  [SessionOutcome.UNKNOWN]: "outcome.UNKNOWN",
};
const kindKeys: Record<SessionKind, Key> = {
  [SessionKind.UNSPECIFIED]: "reports.kind.any",
  [SessionKind.WEB_CHAT]: "reports.kind.WEB_CHAT",
  [SessionKind.FAST_CHAT]: "reports.kind.FAST_CHAT",
  [SessionKind.STANDARD]: "reports.kind.STANDARD",
};
const roleKeys: Record<SessionAdvisorRole, Key> = {
  [SessionAdvisorRole.UNSPECIFIED]: "reports.role.LEAD",
  [SessionAdvisorRole.LEAD]: "reports.role.LEAD",
  [SessionAdvisorRole.INVITED]: "reports.role.INVITED",
  [SessionAdvisorRole.EARLIER_LEAD]: "reports.role.EARLIER_LEAD",
};
const deviceKeys: Record<DeviceType, Key> = {
  [DeviceType.UNSPECIFIED]: "device.UNSPECIFIED",
  [DeviceType.DESKTOP]: "device.DESKTOP",
  [DeviceType.MOBILE]: "device.MOBILE",
};
const osKeys: Record<OperatingSystem, Key> = {
  [OperatingSystem.UNSPECIFIED]: "device.UNSPECIFIED",
  [OperatingSystem.WINDOWS]: "reports.os.WINDOWS",
  [OperatingSystem.MACOS]: "reports.os.MACOS",
  [OperatingSystem.LINUX]: "reports.os.LINUX",
  [OperatingSystem.CHROMEOS]: "reports.os.CHROMEOS",
  [OperatingSystem.ANDROID]: "reports.os.ANDROID",
  [OperatingSystem.IOS]: "reports.os.IOS",
};

interface Option {
  id: string;
  name: string;
}

// Msg is a message kept as its key, so that it follows a language switch.
interface Msg {
  key: Key;
  params?: Record<string, string | number>;
}

function say(m: Msg | null): string {
  return m ? t(m.key, m.params) : "";
}

// refusal says plainly why a report call failed.
function refusal(err: unknown): Msg {
  switch (errorCode(err)) {
    case Code.PermissionDenied:
      return { key: "reports.denied" };
    case Code.Unauthenticated:
      return { key: "reports.signedOut" };
    default:
      return { key: "error.generic", params: { reason: errorText(err) } };
  }
}

// save hands the browser a file to download.
function save(parts: BlobPart[], type: string, name: string): void {
  const url = URL.createObjectURL(new Blob(parts, { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function fileStamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}`;
}

export function Reports(props: ReportsProps) {
  const { token } = props;
  const [filters, setFilters] = useState<Filters>(noFilters);
  // The filters of the rows shown: a page token belongs to them.
  const applied = useRef<Filters>(noFilters);
  const [reports, setReports] = useState<SessionReport[]>([]);
  const [next, setNext] = useState("");
  const [loading, setLoading] = useState<"first" | "more" | null>("first");
  const [error, setError] = useState<Msg | null>(null);
  const [denied, setDenied] = useState("");
  const [portals, setPortals] = useState<Option[]>([]);
  const [advisors, setAdvisors] = useState<Option[]>([]);
  const [open, setOpen] = useState<string | null>(null);
  const generation = useRef(0);
  const queryTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const load = async (f: Filters, pageToken: string) => {
    const bad = checkDates(f);
    if (bad) {
      setError(bad);
      return;
    }
    const gen = ++generation.current;
    applied.current = f;
    setLoading(pageToken ? "more" : "first");
    setError(null);
    try {
      const res = await reportClient.listSessionReports(create(ListSessionReportsRequestSchema, { ...filterFields(f), pageSize, pageToken }), bearer(token));
      if (gen !== generation.current) {
        return;
      }
      setReports((prev) => (pageToken ? [...prev, ...res.reports] : res.reports));
      setNext(res.nextPageToken);
      setDenied("");
    } catch (err) {
      if (gen !== generation.current) {
        return;
      }
      if (errorCode(err) === Code.PermissionDenied) {
        setDenied(errorText(err));
      } else {
        setError(refusal(err));
      }
    }
    setLoading(null);
  };

  useEffect(() => {
    void load(noFilters, "");
    void loadOptions(props).then(([p, a]) => {
      setPortals(p);
      setAdvisors(a);
    });
    return () => clearTimeout(queryTimer.current);
  }, [token]);

  // A portal the options do not list (they failed to load, or it was
  // created since) is learnt from the rows.
  const portalNames = new Map(portals.map((p) => [p.id, p.name]));
  const portalOptions = [...portals];
  for (const r of reports) {
    const id = r.session?.portalId ?? "";
    if (id && !portalNames.has(id)) {
      portalNames.set(id, r.portalSlug);
      portalOptions.push({ id, name: r.portalSlug });
    }
  }

  const change = (patch: Partial<Filters>, delay = 0) => {
    const f = { ...filters, ...patch };
    setFilters(f);
    clearTimeout(queryTimer.current);
    if (delay > 0) {
      queryTimer.current = setTimeout(() => void load(f, ""), delay);
    } else {
      void load(f, "");
    }
  };

  if (denied) {
    return (
      <section class="card reports" aria-labelledby="reports-title">
        <h2 id="reports-title">{t("reports.heading")}</h2>
        <p class="error" role="alert" id="reports-denied">
          {t("reports.denied")}
        </p>
        <p class="muted small">{t("reports.serverSaid", { reason: denied })}</p>
      </section>
    );
  }

  if (open) {
    return (
      <ReportView
        sessionId={open}
        token={token}
        portalName={(id, slug) => portalNames.get(id) ?? slug}
        onBack={() => {
          const id = open;
          setOpen(null);
          setTimeout(() => document.getElementById(`open-${id}`)?.focus());
        }}
      />
    );
  }

  const busy = loading === "first";
  return (
    <section class="card reports" aria-labelledby="reports-title">
      <div class="reports-head">
        <h2 id="reports-title">{t("reports.heading")}</h2>
        <Export token={token} filters={applied.current} />
      </div>
      <form
        class="report-filters"
        aria-label={t("reports.filters")}
        onSubmit={(e) => {
          e.preventDefault();
          clearTimeout(queryTimer.current);
          void load(filters, "");
        }}
      >
        <div class="field wide">
          <label for="rf-query">{t("reports.query")}</label>
          <input
            id="rf-query"
            type="search"
            maxLength={200}
            value={filters.query}
            onInput={(e) => change({ query: (e.currentTarget as HTMLInputElement).value }, queryDelayMs)}
          />
        </div>
        <div class="field">
          <label for="rf-from">{t("reports.from")}</label>
          <input id="rf-from" type="date" value={filters.from} max={filters.to || undefined} onChange={(e) => change({ from: (e.currentTarget as HTMLInputElement).value })} />
        </div>
        <div class="field">
          <label for="rf-to">{t("reports.to")}</label>
          <input id="rf-to" type="date" value={filters.to} min={filters.from || undefined} onChange={(e) => change({ to: (e.currentTarget as HTMLInputElement).value })} />
        </div>
        <div class="field">
          <label for="rf-portal">{t("reports.portal")}</label>
          <select id="rf-portal" value={filters.portalId} onChange={(e) => change({ portalId: (e.currentTarget as HTMLSelectElement).value })}>
            <option value="">{t("reports.portal.any")}</option>
            {portalOptions.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="rf-advisor">{t("reports.advisor")}</label>
          <select id="rf-advisor" value={filters.advisorId} onChange={(e) => change({ advisorId: (e.currentTarget as HTMLSelectElement).value })}>
            <option value="">{t("reports.advisor.any")}</option>
            {advisors.map((a) => (
              <option key={a.id} value={a.id}>
                {a.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="rf-outcome">{t("reports.outcome")}</label>
          <select id="rf-outcome" value={String(filters.outcome)} onChange={(e) => change({ outcome: Number((e.currentTarget as HTMLSelectElement).value) as SessionOutcome })}>
            <option value={String(SessionOutcome.UNSPECIFIED)}>{t("reports.outcome.any")}</option>
            {[SessionOutcome.RESOLVED, SessionOutcome.UNRESOLVED, SessionOutcome.UNKNOWN].map((o) => (
              <option key={o} value={String(o)}>
                {t(outcomeKeys[o])}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="rf-kind">{t("reports.kind")}</label>
          <select id="rf-kind" value={String(filters.kind)} onChange={(e) => change({ kind: Number((e.currentTarget as HTMLSelectElement).value) as SessionKind })}>
            {[SessionKind.UNSPECIFIED, SessionKind.WEB_CHAT, SessionKind.FAST_CHAT, SessionKind.STANDARD].map((k) => (
              <option key={k} value={String(k)}>
                {t(kindKeys[k])}
              </option>
            ))}
          </select>
        </div>
        <div class="field buttons">
          <button type="submit" class="primary">
            {t("reports.apply")}
          </button>
          <button type="button" class="secondary" disabled={!filtered(filters)} onClick={() => change(noFilters)}>
            {t("reports.clear")}
          </button>
        </div>
      </form>
      {error && (
        <p class="error" role="alert">
          {say(error)}
        </p>
      )}
      <p class="muted small report-count" role="status">
        {busy ? t("reports.loading") : reports.length === 0 ? "" : t(next ? "reports.countMore" : "reports.count", { count: reports.length })}
      </p>
      {!busy && reports.length === 0 && !error ? (
        <div class="reports-empty">
          <p>{t(filtered(applied.current) ? "reports.noMatch" : "reports.none")}</p>
          {filtered(applied.current) && (
            <button type="button" class="secondary" onClick={() => change(noFilters)}>
              {t("reports.clear")}
            </button>
          )}
        </div>
      ) : (
        <div class="table-wrap">
          <table class="report-table" aria-busy={busy ? "true" : undefined}>
            <caption>{t("reports.caption")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("reports.col.customer")}</th>
                <th scope="col">{t("reports.col.advisors")}</th>
                <th scope="col">{t("reports.col.portal")}</th>
                <th scope="col">{t("reports.col.started")}</th>
                <th scope="col" class="num">
                  {t("reports.col.wait")}
                </th>
                <th scope="col" class="num">
                  {t("reports.col.handle")}
                </th>
                <th scope="col">{t("reports.col.outcome")}</th>
              </tr>
            </thead>
            <tbody>
              {reports.map((r) => {
                const s = r.session!;
                const name = s.customer?.displayName ?? "";
                return (
                  <tr key={s.id} data-session={s.id} onClick={(e) => (e.target as HTMLElement).closest("button") === null && setOpen(s.id)}>
                    <th scope="row">
                      <button type="button" class="link-button open-report" id={`open-${s.id}`} aria-label={t("reports.openFor", { name })} onClick={() => setOpen(s.id)}>
                        {name}
                      </button>
                      {s.customer?.email && <span class="sub">{s.customer.email}</span>}
                    </th>
                    <td>{r.participants.map((p) => p.advisor?.displayName ?? "").join(", ") || <span class="muted">{t("reports.nobody")}</span>}</td>
                    <td>{portalNames.get(s.portalId) ?? r.portalSlug}</td>
                    <td class="when">{formatDateTime(date(r.queueTime ?? s.createTime))}</td>
                    <td class="num">{formatDuration(r.waitDuration)}</td>
                    <td class="num">{r.handleDuration ? formatDuration(r.handleDuration) : <span class="muted">{t("reports.notPickedUp")}</span>}</td>
                    <td>
                      <span class={`tag outcome-${s.outcome}`}>{t(outcomeKeys[s.outcome])}</span>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {next && !busy && (
        <button type="button" class="secondary more" disabled={loading === "more"} onClick={() => load(applied.current, next)}>
          {loading === "more" ? t("reports.loadingMore") : t("reports.more")}
        </button>
      )}
    </section>
  );
}

// loadOptions lists the portals and advisors to filter by: every one of
// the account, disabled advisors included (their sessions stay in the
// reports), which any report reader may list.
async function loadOptions({ token, advisorId, advisorName }: ReportsProps): Promise<[Option[], Option[]]> {
  try {
    const res = await reportClient.listReportFilterOptions({}, bearer(token));
    return [
      res.portals.map((x) => ({ id: x.portalId, name: x.displayName || x.slug })),
      res.advisors.map((x) => ({ id: x.advisorId, name: x.disabled ? t("reports.disabled", { name: x.displayName }) : x.displayName })),
    ];
  } catch {
    // The list still works; the filters then offer only oneself.
    return [[], [{ id: advisorId, name: advisorName }]];
  }
}

// Export runs ExportSessionReports with the filters of the rows shown,
// counts the rows as they come, and saves the CSV at the end.
function Export({ token, filters }: { token: string; filters: Filters }) {
  const [rows, setRows] = useState<number | null>(null);
  const [message, setMessage] = useState<Msg | null>(null);
  const [failed, setFailed] = useState(false);
  const abort = useRef<AbortController | null>(null);
  useEffect(() => () => abort.current?.abort(), []);
  const run = async () => {
    const ctl = new AbortController();
    abort.current = ctl;
    setRows(0);
    setMessage(null);
    setFailed(false);
    const chunks: Uint8Array[] = [];
    let count = 0;
    try {
      const req = create(ExportSessionReportsRequestSchema, filterFields(filters));
      for await (const res of reportClient.exportSessionReports(req, { ...bearer(token), signal: ctl.signal })) {
        chunks.push(res.csv);
        count += res.rowCount;
        setRows(count);
      }
      if (count === 0) {
        setMessage({ key: "reports.exportEmpty" });
      } else {
        save(chunks as BlobPart[], "text/csv;charset=utf-8", `session-reports-${fileStamp(new Date())}.csv`);
        setMessage({ key: "reports.exportDone", params: { count } });
      }
    } catch (err) {
      if (ctl.signal.aborted || errorCode(err) === Code.Canceled) {
        setMessage({ key: "reports.exportCancelled" });
      } else {
        setFailed(true);
        setMessage({ key: "reports.exportFailed", params: { reason: say(refusal(err)) } });
      }
    }
    abort.current = null;
    setRows(null);
  };
  return (
    <div class="export">
      {rows === null ? (
        <button type="button" class="secondary" id="export-csv" onClick={run}>
          {t("reports.export")}
        </button>
      ) : (
        <button type="button" class="secondary" id="export-cancel" onClick={() => abort.current?.abort()}>
          {t("reports.exportCancel")}
        </button>
      )}
      <p class={failed ? "error small" : "muted small"} role="status" id="export-status">
        {rows !== null ? t("reports.exporting", { count: rows }) : say(message)}
      </p>
    </div>
  );
}

function ReportView({
  sessionId,
  token,
  portalName,
  onBack,
}: {
  sessionId: string;
  token: string;
  portalName: (id: string, slug: string) => string;
  onBack: () => void;
}) {
  const [report, setReport] = useState<SessionReport | null>(null);
  const [error, setError] = useState<Msg | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    let live = true;
    reportClient.getSessionReport({ sessionId }, bearer(token)).then(
      (res) => live && setReport(res.report ?? null),
      (err) => live && setError(refusal(err)),
    );
    return () => {
      live = false;
    };
  }, [sessionId, token]);
  useEffect(() => {
    heading.current?.focus();
  }, [report !== null, error]);

  const back = (
    <button type="button" class="secondary small" onClick={onBack} id="report-back">
      {t("reports.back")}
    </button>
  );
  if (!report) {
    return (
      <section class="card report" aria-labelledby="report-title">
        {back}
        <h2 id="report-title" tabIndex={-1} ref={heading}>
          {t("reports.reportHeading")}
        </h2>
        {error ? (
          <p class="error" role="alert">
            {say(error)}
          </p>
        ) : (
          <p class="muted" role="status">
            {t("reports.reportLoading")}
          </p>
        )}
      </section>
    );
  }
  const s = report.session!;
  const name = s.customer?.displayName ?? "";
  const items = chatItems(report);
  const deleted = date(s.logDeleteTime);
  const timeline: [Key, Date | undefined][] = [
    ["reports.step.queued", date(report.queueTime ?? s.createTime)],
    ["reports.step.pickedUp", date(report.pickUpTime)],
    ["reports.step.upgradeOffered", date(report.upgradeOfferTime)],
    ["reports.step.openerRedeemed", date(report.openerRedeemTime)],
    [report.screenShareAccepted ? "reports.step.shareAccepted" : "reports.step.shareRefused", date(report.screenShareAnswerTime)],
    ["reports.step.ended", date(report.endTime ?? s.endTime)],
  ];
  return (
    <section class="card report" aria-labelledby="report-title" data-session={s.id}>
      {back}
      <div class="report-title">
        <h2 id="report-title" tabIndex={-1} ref={heading}>
          {t("reports.reportFor", { name })}
        </h2>
        <span class={`tag outcome-${s.outcome}`}>{t(outcomeKeys[s.outcome])}</span>
      </div>
      <div class="report-body">
        <div class="report-facts">
          <section aria-labelledby="rep-customer">
            <h3 id="rep-customer">{t("reports.customer")}</h3>
            <dl class="facts">
              <dt>{t("reports.name")}</dt>
              <dd>{name}</dd>
              <dt>{t("session.email")}</dt>
              <dd>{s.customer?.email || <span class="muted">{t("reports.notGiven")}</span>}</dd>
              {s.customer?.problemDescription && (
                <>
                  <dt>{t("session.problem")}</dt>
                  <dd>{s.customer.problemDescription}</dd>
                </>
              )}
              <dt>{t("session.platform")}</dt>
              <dd>
                {platformText(s.customerPlatform?.deviceType ?? DeviceType.UNSPECIFIED, s.customerPlatform?.operatingSystem ?? OperatingSystem.UNSPECIFIED)}
                {s.customerPlatform?.userAgent && <span class="sub ua">{s.customerPlatform.userAgent}</span>}
              </dd>
              <dt>{t("reports.portal")}</dt>
              <dd>{portalName(s.portalId, report.portalSlug)}</dd>
              <dt>{t("reports.kind")}</dt>
              <dd>{t(kindKeys[s.kind])}</dd>
            </dl>
          </section>
          <section aria-labelledby="rep-advisors">
            <h3 id="rep-advisors">{t("reports.advisors")}</h3>
            {report.participants.length === 0 ? (
              <p class="muted">{t("reports.nobody")}</p>
            ) : (
              <ul class="advisor-list">
                {report.participants.map((p) => (
                  <li key={`${p.advisor?.id}-${p.role}`}>
                    <strong>{p.advisor?.displayName}</strong> <span class="tag">{t(roleKeys[p.role])}</span>
                    {p.advisor?.email && <span class="sub">{p.advisor.email}</span>}
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section aria-labelledby="rep-timeline">
            <h3 id="rep-timeline">{t("reports.timeline")}</h3>
            <ol class="timeline">
              {timeline
                .filter(([, at]) => at)
                .map(([key, at]) => (
                  <li key={key}>
                    <span>{t(key)}</span> <time dateTime={at!.toISOString()}>{formatDateTime(at)}</time>
                  </li>
                ))}
              {!report.pickUpTime && <li class="muted">{t("reports.step.neverPickedUp")}</li>}
            </ol>
            <dl class="facts">
              <dt>{t("reports.col.wait")}</dt>
              <dd>{formatDuration(report.waitDuration)}</dd>
              <dt>{t("reports.col.handle")}</dt>
              <dd>{report.handleDuration ? formatDuration(report.handleDuration) : t("reports.notPickedUp")}</dd>
            </dl>
          </section>
          <section aria-labelledby="rep-outcome">
            <h3 id="rep-outcome">{t("reports.outcomeNotes")}</h3>
            <p>
              <span class={`tag outcome-${s.outcome}`}>{t(outcomeKeys[s.outcome])}</span>
            </p>
            {report.notes ? <p class="notes">{report.notes}</p> : <p class="muted">{t("reports.noNotes")}</p>}
          </section>
        </div>
        <section class="report-log" aria-labelledby="rep-log">
          <div class="report-log-head">
            <h3 id="rep-log">{t("history.log")}</h3>
            {!deleted && items.length > 0 && (
              <button type="button" class="secondary small" onClick={() => saveText(report, items)}>
                {t("reports.saveText")}
              </button>
            )}
          </div>
          {deleted ? (
            <p class="banner" id="log-deleted">
              {t("reports.logDeleted", { date: formatDateTime(deleted) })}
            </p>
          ) : items.length === 0 ? (
            <p class="muted">{t("reports.logEmpty")}</p>
          ) : (
            <MessageList items={items} label={t("reports.logFor", { name })} />
          )}
        </section>
      </div>
    </section>
  );
}

// platformText says "Desktop, Windows", or what of it is known.
function platformText(device: DeviceType, os: OperatingSystem): string {
  const known = [device !== DeviceType.UNSPECIFIED && t(deviceKeys[device]), os !== OperatingSystem.UNSPECIFIED && t(osKeys[os])].filter(Boolean);
  return known.length > 0 ? known.join(", ") : t("device.UNSPECIFIED");
}

// chatItems renders the log as the console renders a conversation, read
// by a third party: every author by name, advisors on one side, the
// customer on the other, and no live opener link.
function chatItems(r: SessionReport): Item[] {
  const out: Item[] = [];
  for (const ev of r.chatLog) {
    const it = describe(ev, false);
    if (it) {
      const role = ev.author?.role;
      out.push({ ...it, mine: role === ParticipantRole.ADVISOR || role === ParticipantRole.INTEGRATION, link: undefined, status: undefined });
    }
  }
  return out;
}

// saveText writes the chat log as a .txt file in the reader's language,
// like the customer's saved history: a header, then one line per event.
function saveText(r: SessionReport, items: Item[]): void {
  const s = r.session!;
  const p = (n: number) => String(n).padStart(2, "0");
  const stamp = (d: Date | undefined) =>
    d ? `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}` : "";
  const lines = [
    t("reports.txt.title", { name: s.customer?.displayName ?? "" }),
    `${t("reports.portal")}: ${r.portalSlug}`,
    `${t("reports.txt.started")}: ${stamp(date(r.queueTime ?? s.createTime))}`,
    `${t("reports.txt.ended")}: ${stamp(date(r.endTime ?? s.endTime))}`,
    `${t("reports.advisors")}: ${r.participants.map((x) => `${x.advisor?.displayName ?? ""} (${t(roleKeys[x.role])})`).join(", ")}`,
    `${t("reports.outcome")}: ${t(outcomeKeys[s.outcome])}`,
    `${t("reports.txt.zone")}: ${Intl.DateTimeFormat().resolvedOptions().timeZone}`,
    "",
  ];
  for (const it of items) {
    const at = `[${stamp(it.time)}]`;
    lines.push(it.kind === "message" ? `${at} ${it.author}: ${it.text.replace(/\r?\n/g, "\n    ")}` : `${at} *** ${it.text}`);
  }
  const started = date(r.queueTime ?? s.createTime) ?? new Date();
  save([lines.join("\n") + "\n"], "text/plain;charset=utf-8", `chat-log-${fileStamp(started)}-${s.id.slice(0, 8)}.txt`);
}
