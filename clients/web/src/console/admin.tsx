// Administration, for the account's admins: advisors, portals, account
// settings, API keys and the audit log, all through AdminService. Others
// never see the tab; if one reaches it anyway (their admin flag was just
// removed), the server's PermissionDenied is said plainly.
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { Fragment } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiKeyScope, UpgradeHandoff, type AccountSettings, type Advisor, type ApiKey, type Portal } from "../../../../gen/ts/assist/v1/account_pb.js";
import { type AuditEvent } from "../../../../gen/ts/assist/v1/admin_service_pb.js";
import { PortalMode } from "../../../../gen/ts/assist/v1/session_pb.js";
import { adminClient, bearer, Code, errorCode, errorText } from "../shared/api";
import { formatDateTime, t, type Key } from "../shared/i18n";


type Section = "advisors" | "portals" | "settings" | "keys" | "audit";
const sections: { id: Section; key: Key }[] = [
  { id: "advisors", key: "admin.nav.advisors" },
  { id: "portals", key: "admin.nav.portals" },
  { id: "settings", key: "admin.nav.settings" },
  { id: "keys", key: "admin.nav.keys" },
  { id: "audit", key: "admin.nav.audit" },
];

// Problems is what a refused call says: a message next to each field it
// names (by the request's field name), and one for the whole form.
type Problems = Record<string, string>;
const whole = "";

// focusSoon focuses an element once the render the caller just asked for
// is on screen (Preact renders in a microtask).
function focusSoon(id: string): void {
  setTimeout(() => document.getElementById(id)?.focus(), 0);
}

function when(ts: Timestamp | undefined): string {
  return ts ? formatDateTime(timestampDate(ts)) : "";
}

// problemsOf turns a refused call into what the form shows. InvalidArgument
// names its fields in the message ("validation error: email: …", or
// "display_name: must not be blank"); a field the form has gets the
// message beside it, the rest goes to the whole form. alreadyExists is
// the field an AlreadyExists is about.
function problemsOf(err: unknown, fields: string[], alreadyExists?: string): Problems {
  const code = errorCode(err);
  if (code === Code.InvalidArgument) {
    const out: Problems = {};
    const body = errorText(err).replace(/^validation errors?:\s*/, "");
    for (const part of body.split("\n").map((line) => line.replace(/^\s*-\s*/, ""))) {
      const m = /^([a-z_.]+)(?:\[\d+\])?: ([\s\S]*)$/.exec(part.trim());
      const field = m?.[1]?.replace(/^settings\./, "");
      if (m && field && fields.includes(field)) {
        out[field] ??= /regex pattern/.test(m[2]!) && (field === "email" || field === "slug") ? t(field === "email" ? "admin.err.email" : "admin.err.slug") : m[2]!;
      } else if (part.trim()) {
        out[whole] = t("admin.err.refused", { reason: part.trim() });
      }
    }
    return out;
  }
  if (code === Code.AlreadyExists && alreadyExists) {
    return { [alreadyExists]: alreadyExists === "email" ? t("admin.err.emailTaken") : t("admin.err.slugTaken") };
  }
  return { [whole]: plainError(err) };
}

// plainError says what went wrong and what to do, for any refusal.
function plainError(err: unknown): string {
  switch (errorCode(err)) {
    case Code.PermissionDenied:
      return t("admin.denied");
    case Code.Unauthenticated:
      return t("admin.err.signedOut");
    case Code.NotFound:
      return t("admin.err.gone");
    case Code.FailedPrecondition:
      return t("admin.err.precondition", { reason: errorText(err) });
    case Code.Unavailable:
    case Code.DeadlineExceeded:
      return t("admin.err.unavailable");
    default:
      return t("error.generic", { reason: errorText(err) });
  }
}

// firstProblem focuses the first field the server refused, in form order.
function focusFirstProblem(prefix: string, fields: string[], problems: Problems): void {
  const first = fields.find((f) => problems[f]);
  if (first) {
    focusSoon(`${prefix}-${first}`);
  }
}

// Status is a section's polite live region: what was saved, or what failed.
function Status({ ok, error }: { ok: string; error: string }) {
  return (
    <>
      <p class="saved" role="status">
        {ok}
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </>
  );
}

// TextField is a labelled input with its hint and the server's message
// about it, both read out with the field.
function TextField(props: {
  id: string;
  label: string;
  value: string;
  onInput: (v: string) => void;
  hint?: string;
  problem?: string;
  type?: "text" | "email" | "password" | "number";
  autocomplete?: string;
  maxLength?: number;
  min?: number;
  max?: number;
  inputMode?: "numeric";
}) {
  const described = [props.hint ? `${props.id}-hint` : "", props.problem ? `${props.id}-error` : ""].filter(Boolean).join(" ");
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        // One type at a time; Preact types each input type separately.
        type={(props.type ?? "text") as "text"}
        value={props.value}
        autocomplete={props.autocomplete ?? "off"}
        maxLength={props.maxLength}
        min={props.min}
        max={props.max}
        inputMode={props.inputMode}
        aria-invalid={props.problem ? "true" : undefined}
        aria-describedby={described || undefined}
        onInput={(e) => props.onInput((e.currentTarget as HTMLInputElement).value)}
      />
      {props.hint && (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      )}
      {props.problem && (
        <p class="field-error" id={`${props.id}-error`}>
          {props.problem}
        </p>
      )}
    </div>
  );
}

function Check({ id, label, hint, checked, onChange }: { id: string; label: string; hint?: string; checked: boolean; onChange: (v: boolean) => void }) {
  return (
    <div class="check">
      <input id={id} type="checkbox" checked={checked} aria-describedby={hint ? `${id}-hint` : undefined} onChange={(e) => onChange((e.currentTarget as HTMLInputElement).checked)} />
      <label for={id}>{label}</label>
      {hint && (
        <p class="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
    </div>
  );
}

// Confirm is an inline confirmation: it takes the focus when it opens;
// whoever closes it gives the focus back to what opened it.
function Confirm({ id, text, yes, danger, busy, onYes, onNo }: { id: string; text: string; yes: string; danger?: boolean; busy?: boolean; onYes: () => void; onNo: () => void }) {
  useEffect(() => focusSoon(`${id}-yes`), [id]);
  return (
    <div class="confirm" role="alertdialog" aria-labelledby={`${id}-text`} onKeyDown={(e) => e.key === "Escape" && onNo()}>
      <p id={`${id}-text`}>{text}</p>
      <div class="actions">
        <button type="button" id={`${id}-yes`} class={danger ? "danger" : "primary"} disabled={busy} onClick={onYes}>
          {yes}
        </button>
        <button type="button" class="secondary" onClick={onNo}>
          {t("session.cancel")}
        </button>
      </div>
    </div>
  );
}

function Yes({ on }: { on: boolean }) {
  return <span class={on ? "tag yes" : "tag no"}>{on ? t("admin.yes") : t("admin.no")}</span>;
}

export function Administration({ token, selfId }: { token: string; selfId: string }) {
  const [section, setSection] = useState<Section>("advisors");
  const [advisors, setAdvisors] = useState<Advisor[] | null>(null);
  const [denied, setDenied] = useState(false);
  const [loadError, setLoadError] = useState("");
  // Any call refused with PermissionDenied: the caller is no admin (any
  // more); the whole screen says so.
  const guard = (err: unknown): boolean => {
    if (errorCode(err) === Code.PermissionDenied) {
      setDenied(true);
      return true;
    }
    return false;
  };
  const loadAdvisors = async () => {
    try {
      const res = await adminClient.listAdvisors({}, bearer(token));
      setAdvisors(res.advisors);
      setLoadError("");
    } catch (err) {
      if (!guard(err)) {
        setLoadError(plainError(err));
      }
    }
  };
  useEffect(() => {
    void loadAdvisors();
  }, [token]);

  if (denied) {
    return (
      <section class="card admin" aria-labelledby="admin-title">
        <h2 id="admin-title">{t("admin.heading")}</h2>
        <p class="error" role="alert" id="admin-denied">
          {t("admin.denied")}
        </p>
      </section>
    );
  }
  const props = { token, selfId, advisors: advisors ?? [], reloadAdvisors: loadAdvisors, guard };
  return (
    <div class="admin">
      <h2 id="admin-title" class="visually-hidden">
        {t("admin.heading")}
      </h2>
      <nav class="admin-nav" aria-labelledby="admin-title">
        {sections.map((s) => (
          <button key={s.id} type="button" id={`admin-tab-${s.id}`} class="subtab" aria-current={section === s.id ? "page" : undefined} onClick={() => setSection(s.id)}>
            {t(s.key)}
          </button>
        ))}
      </nav>
      {loadError && (
        <p class="error" role="alert">
          {loadError}
        </p>
      )}
      {advisors === null && !loadError ? (
        <p class="muted" role="status">
          {t("admin.loading")}
        </p>
      ) : section === "advisors" ? (
        <Advisors {...props} />
      ) : section === "portals" ? (
        <Portals {...props} />
      ) : section === "settings" ? (
        <Settings {...props} />
      ) : section === "keys" ? (
        <ApiKeys {...props} />
      ) : (
        <AuditLog {...props} />
      )}
    </div>
  );
}

interface SectionProps {
  token: string;
  selfId: string;
  advisors: Advisor[];
  reloadAdvisors: () => Promise<void>;
  guard: (err: unknown) => boolean;
}

// --- Advisors ---------------------------------------------------------

const advisorFields = ["display_name", "email", "password"];

interface AdvisorDraft {
  name: string;
  email: string;
  password: string;
  reports: boolean;
  admin: boolean;
}

function Advisors({ token, selfId, advisors, reloadAdvisors, guard }: SectionProps) {
  const [form, setForm] = useState<{ id: string } | null>(null); // id "" creates
  const [toggling, setToggling] = useState<Advisor | null>(null);
  const [busy, setBusy] = useState(false);
  const [ok, setOk] = useState("");
  const [error, setError] = useState("");

  const toggle = async (a: Advisor) => {
    setBusy(true);
    setError("");
    try {
      await adminClient.updateAdvisor({ advisorId: a.id, disabled: !a.disabled, updateMask: { paths: ["disabled"] } }, bearer(token));
      setOk(t(a.disabled ? "admin.advisors.enabled" : "admin.advisors.disabled", { name: a.displayName }));
      await reloadAdvisors();
    } catch (err) {
      if (!guard(err)) {
        setError(plainError(err));
      }
    } finally {
      setBusy(false);
      setToggling(null);
      focusSoon(`adv-toggle-${a.id}`);
    }
  };
  const editing = form && form.id ? advisors.find((a) => a.id === form.id) : undefined;
  return (
    <section class="card admin-section" aria-labelledby="advisors-title">
      <div class="section-head">
        <h3 id="advisors-title">{t("admin.advisors.heading")}</h3>
        {!form && (
          <button type="button" class="primary" id="adv-create" onClick={() => setForm({ id: "" })}>
            {t("admin.advisors.create")}
          </button>
        )}
      </div>
      <Status ok={ok} error={error} />
      {form && (
        <AdvisorForm
          key={form.id}
          token={token}
          advisor={editing}
          self={editing?.id === selfId}
          guard={guard}
          onDone={async (message) => {
            const back = form.id ? `adv-edit-${form.id}` : "adv-create";
            if (message) {
              setOk(message);
              setError("");
              await reloadAdvisors();
            }
            setForm(null);
            focusSoon(back);
          }}
        />
      )}
      <div class="table-wrap">
        <table class="admin-table" aria-labelledby="advisors-title">
          <thead>
            <tr>
              <th scope="col">{t("admin.advisors.name")}</th>
              <th scope="col">{t("admin.advisors.email")}</th>
              <th scope="col">{t("admin.advisors.reports")}</th>
              <th scope="col">{t("admin.advisors.admin")}</th>
              <th scope="col">{t("admin.advisors.status")}</th>
              <th scope="col">
                <span class="visually-hidden">{t("admin.actions")}</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {advisors.map((a) => (
              <Fragment key={a.id}>
                <tr class={a.disabled ? "off" : undefined} data-advisor={a.email}>
                  <th scope="row">
                    {a.displayName}
                    {a.id === selfId && <span class="muted small"> {t("admin.advisors.you")}</span>}
                  </th>
                  <td>{a.email}</td>
                  <td>
                    <Yes on={a.reportAccess} />
                  </td>
                  <td>
                    <Yes on={a.admin} />
                  </td>
                  <td>{a.disabled ? <span class="tag off">{t("admin.advisors.isDisabled")}</span> : <span class="tag yes">{t("admin.advisors.isEnabled")}</span>}</td>
                  <td class="row-actions">
                    <button type="button" class="secondary small" id={`adv-edit-${a.id}`} aria-label={t("admin.editFor", { name: a.displayName })} onClick={() => setForm({ id: a.id })}>
                      {t("admin.edit")}
                    </button>
                    {a.id !== selfId && (
                      <button
                        type="button"
                        class="secondary small"
                        id={`adv-toggle-${a.id}`}
                        aria-label={t(a.disabled ? "admin.advisors.enableFor" : "admin.advisors.disableFor", { name: a.displayName })}
                        onClick={() => setToggling(a)}
                      >
                        {t(a.disabled ? "admin.advisors.enable" : "admin.advisors.disable")}
                      </button>
                    )}
                  </td>
                </tr>
                {toggling?.id === a.id && (
                  <tr class="confirm-row">
                    <td colSpan={6}>
                      <Confirm
                        id={`adv-confirm-${a.id}`}
                        text={t(a.disabled ? "admin.advisors.enableConfirm" : "admin.advisors.disableConfirm", { name: a.displayName })}
                        yes={t(a.disabled ? "admin.advisors.enable" : "admin.advisors.disable")}
                        danger={!a.disabled}
                        busy={busy}
                        onYes={() => void toggle(a)}
                        onNo={() => {
                          setToggling(null);
                          focusSoon(`adv-toggle-${a.id}`);
                        }}
                      />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

// AdvisorForm creates an advisor (advisor unset) or edits one: its name,
// report access and admin flag, and optionally a new password.
function AdvisorForm({ token, advisor, self, guard, onDone }: { token: string; advisor?: Advisor; self: boolean; guard: (err: unknown) => boolean; onDone: (message: string) => void }) {
  const [d, setD] = useState<AdvisorDraft>({ name: advisor?.displayName ?? "", email: advisor?.email ?? "", password: "", reports: advisor?.reportAccess ?? false, admin: advisor?.admin ?? false });
  const [problems, setProblems] = useState<Problems>({});
  const [busy, setBusy] = useState(false);
  const p = advisor ? "adv-e" : "adv-n";
  useEffect(() => focusSoon(`${p}-display_name`), [p]);
  const set = (patch: Partial<AdvisorDraft>) => setD({ ...d, ...patch });

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblems({});
    try {
      if (!advisor) {
        const res = await adminClient.createAdvisor({ displayName: d.name, email: d.email.trim(), password: d.password, reportAccess: d.reports, admin: d.admin }, bearer(token));
        onDone(t("admin.advisors.created", { name: res.advisor?.displayName ?? d.name }));
        return;
      }
      const paths: string[] = [];
      if (d.name !== advisor.displayName) paths.push("display_name");
      if (d.reports !== advisor.reportAccess) paths.push("report_access");
      if (d.admin !== advisor.admin) paths.push("admin");
      if (d.password) paths.push("password");
      if (paths.length === 0) {
        onDone(t("admin.nothingChanged"));
        return;
      }
      const res = await adminClient.updateAdvisor(
        { advisorId: advisor.id, displayName: d.name, reportAccess: d.reports, admin: d.admin, password: d.password, updateMask: { paths } },
        bearer(token),
      );
      onDone(t("admin.advisors.saved", { name: res.advisor?.displayName ?? d.name }));
    } catch (err) {
      if (guard(err)) {
        return;
      }
      const found = problemsOf(err, advisorFields, "email");
      setProblems(found);
      focusFirstProblem(p, advisorFields, found);
      setBusy(false);
    }
  };
  const title = advisor ? t("admin.advisors.editHeading", { name: advisor.displayName }) : t("admin.advisors.create");
  return (
    <form class="admin-form" aria-labelledby={`${p}-title`} onSubmit={submit} noValidate>
      <h4 id={`${p}-title`}>{title}</h4>
      <TextField id={`${p}-display_name`} label={t("admin.advisors.name")} hint={t("admin.advisors.nameHint")} value={d.name} maxLength={100} problem={problems.display_name} onInput={(v) => set({ name: v })} />
      {!advisor && (
        <TextField id={`${p}-email`} type="email" label={t("admin.advisors.email")} hint={t("admin.advisors.emailHint")} value={d.email} maxLength={254} problem={problems.email} onInput={(v) => set({ email: v })} />
      )}
      <TextField
        id={`${p}-password`}
        type="password"
        autocomplete="new-password"
        label={advisor ? t("admin.advisors.newPassword") : t("admin.advisors.password")}
        hint={advisor ? t("admin.advisors.newPasswordHint") : t("admin.advisors.passwordHint")}
        value={d.password}
        maxLength={256}
        problem={problems.password}
        onInput={(v) => set({ password: v })}
      />
      <fieldset>
        <legend>{t("admin.advisors.rights")}</legend>
        <Check id={`${p}-reports`} label={t("admin.advisors.reportsLabel")} hint={t("admin.advisors.reportsHint")} checked={d.reports} onChange={(v) => set({ reports: v })} />
        <Check id={`${p}-admin`} label={t("admin.advisors.adminLabel")} hint={self ? t("admin.advisors.adminSelfHint") : t("admin.advisors.adminHint")} checked={d.admin} onChange={(v) => set({ admin: v })} />
      </fieldset>
      {problems[whole] && (
        <p class="error" role="alert">
          {problems[whole]}
        </p>
      )}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {advisor ? t("admin.save") : t("admin.advisors.createConfirm")}
        </button>
        <button type="button" class="secondary" onClick={() => onDone("")}>
          {t("session.cancel")}
        </button>
      </div>
    </form>
  );
}

// --- Portals ----------------------------------------------------------

const modes = [PortalMode.QUEUE, PortalMode.CODE, PortalMode.WEB] as const;
const modeKey = { [PortalMode.QUEUE]: "admin.mode.QUEUE", [PortalMode.CODE]: "admin.mode.CODE", [PortalMode.WEB]: "admin.mode.WEB" } as const;
const modeHintKey = { [PortalMode.QUEUE]: "admin.mode.QUEUE.hint", [PortalMode.CODE]: "admin.mode.CODE.hint", [PortalMode.WEB]: "admin.mode.WEB.hint" } as const;
const portalFields = ["display_name", "slug", "mode", "advisor_ids"];

function modeText(m: PortalMode): string {
  return m === PortalMode.UNSPECIFIED ? "" : t(modeKey[m]);
}

function portalLink(slug: string): string {
  return `${location.origin}/p/${encodeURIComponent(slug)}`;
}

function Portals({ token, advisors, guard }: SectionProps) {
  const [portals, setPortals] = useState<Portal[] | null>(null);
  const [form, setForm] = useState<{ id: string } | null>(null);
  const [ok, setOk] = useState("");
  const [error, setError] = useState("");
  const load = async () => {
    try {
      setPortals((await adminClient.listPortals({}, bearer(token))).portals);
    } catch (err) {
      if (!guard(err)) {
        setError(plainError(err));
      }
    }
  };
  useEffect(() => {
    void load();
  }, [token]);
  const names = (ids: string[]) =>
    ids
      .map((id) => advisors.find((a) => a.id === id)?.displayName)
      .filter(Boolean)
      .join(", ");
  const editing = form?.id ? portals?.find((p) => p.id === form.id) : undefined;
  return (
    <section class="card admin-section" aria-labelledby="portals-title">
      <div class="section-head">
        <h3 id="portals-title">{t("admin.portals.heading")}</h3>
        {!form && (
          <button type="button" class="primary" id="portal-create" onClick={() => setForm({ id: "" })}>
            {t("admin.portals.create")}
          </button>
        )}
      </div>
      <p class="muted small">{t("admin.portals.intro")}</p>
      <Status ok={ok} error={error} />
      {form && (
        <PortalForm
          key={form.id}
          token={token}
          portal={editing}
          advisors={advisors}
          guard={guard}
          onDone={async (message) => {
            const back = form.id ? `portal-edit-${form.id}` : "portal-create";
            if (message) {
              setOk(message);
              setError("");
              await load();
            }
            setForm(null);
            focusSoon(back);
          }}
        />
      )}
      {portals === null ? (
        <p class="muted">{t("admin.loading")}</p>
      ) : (
        <div class="table-wrap">
          <table class="admin-table" aria-labelledby="portals-title">
            <thead>
              <tr>
                <th scope="col">{t("admin.portals.name")}</th>
                <th scope="col">{t("admin.portals.link")}</th>
                <th scope="col">{t("admin.portals.mode")}</th>
                <th scope="col">{t("admin.portals.advisors")}</th>
                <th scope="col">
                  <span class="visually-hidden">{t("admin.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {portals.map((p) => (
                <tr key={p.id} data-portal={p.slug}>
                  <th scope="row">{p.displayName}</th>
                  <td>
                    <a href={portalLink(p.slug)} class="portal-link">
                      /p/{p.slug}
                    </a>
                  </td>
                  <td>{modeText(p.mode)}</td>
                  <td>{names(p.advisorIds) || <span class="muted">{t("admin.portals.nobody")}</span>}</td>
                  <td class="row-actions">
                    <button type="button" class="secondary small" id={`portal-edit-${p.id}`} aria-label={t("admin.editFor", { name: p.displayName })} onClick={() => setForm({ id: p.id })}>
                      {t("admin.edit")}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function PortalForm({ token, portal, advisors, guard, onDone }: { token: string; portal?: Portal; advisors: Advisor[]; guard: (err: unknown) => boolean; onDone: (message: string) => void }) {
  const [name, setName] = useState(portal?.displayName ?? "");
  const [slug, setSlug] = useState(portal?.slug ?? "");
  const [mode, setMode] = useState<PortalMode>(portal?.mode ?? PortalMode.QUEUE);
  const [ids, setIds] = useState<string[]>(portal?.advisorIds ?? []);
  const [problems, setProblems] = useState<Problems>({});
  const [busy, setBusy] = useState(false);
  const p = portal ? "portal-e" : "portal-n";
  useEffect(() => focusSoon(`${p}-display_name`), [p]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblems({});
    try {
      if (!portal) {
        const res = await adminClient.createPortal({ displayName: name, slug: slug.trim(), mode, advisorIds: ids }, bearer(token));
        onDone(t("admin.portals.created", { name: res.portal?.displayName ?? name }));
        return;
      }
      const paths: string[] = [];
      if (name !== portal.displayName) paths.push("display_name");
      if (mode !== portal.mode) paths.push("mode");
      if ([...ids].sort().join() !== [...portal.advisorIds].sort().join()) paths.push("advisor_ids");
      if (paths.length === 0) {
        onDone(t("admin.nothingChanged"));
        return;
      }
      const res = await adminClient.updatePortal({ portalId: portal.id, displayName: name, mode, advisorIds: ids, updateMask: { paths } }, bearer(token));
      onDone(t("admin.portals.saved", { name: res.portal?.displayName ?? name }));
    } catch (err) {
      if (guard(err)) {
        return;
      }
      const found = problemsOf(err, portalFields, "slug");
      setProblems(found);
      focusFirstProblem(p, portalFields, found);
      setBusy(false);
    }
  };
  const title = portal ? t("admin.portals.editHeading", { name: portal.displayName }) : t("admin.portals.create");
  return (
    <form class="admin-form" aria-labelledby={`${p}-title`} onSubmit={submit} noValidate>
      <h4 id={`${p}-title`}>{title}</h4>
      <TextField id={`${p}-display_name`} label={t("admin.portals.name")} hint={t("admin.portals.nameHint")} value={name} maxLength={100} problem={problems.display_name} onInput={setName} />
      {portal ? (
        <p class="hint">{t("admin.portals.slugFixed", { link: `/p/${portal.slug}` })}</p>
      ) : (
        <TextField
          id={`${p}-slug`}
          label={t("admin.portals.slug")}
          hint={t("admin.portals.slugHint", { link: `/p/${slug.trim() || "…"}` })}
          value={slug}
          maxLength={63}
          problem={problems.slug}
          onInput={(v) => setSlug(v.toLowerCase())}
        />
      )}
      <fieldset aria-describedby={problems.mode ? `${p}-mode-error` : undefined}>
        <legend>{t("admin.portals.mode")}</legend>
        {modes.map((m) => (
          <div class="check" key={m}>
            <input type="radio" id={`${p}-mode-${m}`} name={`${p}-mode`} checked={mode === m} aria-describedby={`${p}-mode-${m}-hint`} onChange={() => setMode(m)} />
            <label for={`${p}-mode-${m}`}>{modeText(m)}</label>
            <p class="hint" id={`${p}-mode-${m}-hint`}>
              {t(modeHintKey[m])}
            </p>
          </div>
        ))}
        {problems.mode && (
          <p class="field-error" id={`${p}-mode-error`}>
            {problems.mode}
          </p>
        )}
      </fieldset>
      <fieldset aria-describedby={`${p}-advisors-hint${problems.advisor_ids ? ` ${p}-advisor_ids-error` : ""}`}>
        <legend>{t("admin.portals.advisors")}</legend>
        <p class="hint" id={`${p}-advisors-hint`}>
          {t("admin.portals.advisorsHint")}
        </p>
        {advisors.map((a) => (
          <div class="check" key={a.id}>
            <input
              type="checkbox"
              id={`${p}-adv-${a.id}`}
              checked={ids.includes(a.id)}
              onChange={(e) => {
                const on = (e.currentTarget as HTMLInputElement).checked;
                setIds(on ? [...ids, a.id] : ids.filter((x) => x !== a.id));
              }}
            />
            <label for={`${p}-adv-${a.id}`}>
              {a.displayName} <span class="muted small">{a.email}</span>
              {a.disabled && <span class="tag off">{t("admin.advisors.isDisabled")}</span>}
            </label>
          </div>
        ))}
        {problems.advisor_ids && (
          <p class="field-error" id={`${p}-advisor_ids-error`}>
            {problems.advisor_ids}
          </p>
        )}
      </fieldset>
      {problems[whole] && (
        <p class="error" role="alert">
          {problems[whole]}
        </p>
      )}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {portal ? t("admin.save") : t("admin.portals.createConfirm")}
        </button>
        <button type="button" class="secondary" onClick={() => onDone("")}>
          {t("session.cancel")}
        </button>
      </div>
    </form>
  );
}

// --- Account settings -------------------------------------------------

// The form's values as typed; durations in minutes.
interface SettingsDraft {
  web_chat_enabled: boolean;
  fast_chat_enabled: boolean;
  upgrade_handoff: UpgradeHandoff;
  opener_lifetime: string;
  session_code_lifetime: string;
  max_live_session_codes_per_advisor: string;
  chat_log_retention_days: string;
  language: string;
}
type SettingsPath = keyof SettingsDraft;
const settingsFields: SettingsPath[] = [
  "web_chat_enabled",
  "fast_chat_enabled",
  "upgrade_handoff",
  "opener_lifetime",
  "session_code_lifetime",
  "max_live_session_codes_per_advisor",
  "chat_log_retention_days",
  "language",
];
const handoffs = [UpgradeHandoff.TRANSFER_TO_APP, UpgradeHandoff.KEEP_WEB_CHAT_APP_WITHOUT_CHAT, UpgradeHandoff.KEEP_WEB_CHAT_APP_WITH_CHAT] as const;
const handoffKey = {
  [UpgradeHandoff.TRANSFER_TO_APP]: "admin.handoff.TRANSFER_TO_APP",
  [UpgradeHandoff.KEEP_WEB_CHAT_APP_WITHOUT_CHAT]: "admin.handoff.KEEP_WEB_CHAT_APP_WITHOUT_CHAT",
  [UpgradeHandoff.KEEP_WEB_CHAT_APP_WITH_CHAT]: "admin.handoff.KEEP_WEB_CHAT_APP_WITH_CHAT",
} as const;

function minutes(d: { seconds: bigint } | undefined): string {
  return d ? String(Number(d.seconds) / 60) : "";
}

function draftOf(s: AccountSettings): SettingsDraft {
  return {
    web_chat_enabled: s.webChatEnabled,
    fast_chat_enabled: s.fastChatEnabled,
    upgrade_handoff: s.upgradeHandoff,
    opener_lifetime: minutes(s.openerLifetime),
    session_code_lifetime: minutes(s.sessionCodeLifetime),
    max_live_session_codes_per_advisor: String(s.maxLiveSessionCodesPerAdvisor),
    chat_log_retention_days: String(s.chatLogRetentionDays),
    language: s.language || "en",
  };
}

// numberOf reads a number as typed; anything else is NaN, and the form
// says so without asking the server.
function numberOf(v: string): number {
  return /^\s*\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
}

function Settings({ token, guard }: SectionProps) {
  const [saved, setSaved] = useState<SettingsDraft | null>(null);
  const [d, setD] = useState<SettingsDraft | null>(null);
  const [problems, setProblems] = useState<Problems>({});
  const [ok, setOk] = useState("");
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    adminClient.getAccountSettings({}, bearer(token)).then(
      (res) => {
        const draft = draftOf(res.settings!);
        setSaved(draft);
        setD(draft);
      },
      (err) => {
        if (!guard(err)) {
          setProblems({ [whole]: plainError(err) });
        }
      },
    );
  }, [token]);
  if (!d || !saved) {
    return (
      <section class="card admin-section" aria-labelledby="settings-title">
        <h3 id="settings-title">{t("admin.settings.heading")}</h3>
        {problems[whole] ? (
          <p class="error" role="alert">
            {problems[whole]}
          </p>
        ) : (
          <p class="muted">{t("admin.loading")}</p>
        )}
      </section>
    );
  }
  const set = (patch: Partial<SettingsDraft>) => {
    setD({ ...d, ...patch });
    setOk("");
  };
  const changed = settingsFields.filter((f) => d[f] !== saved[f]);

  const submit = async (e: Event) => {
    e.preventDefault();
    setOk("");
    setProblems({});
    if (changed.length === 0) {
      setOk(t("admin.nothingChanged"));
      return;
    }
    const numbers: Partial<Record<SettingsPath, number>> = {};
    const local: Problems = {};
    for (const f of ["opener_lifetime", "session_code_lifetime", "max_live_session_codes_per_advisor", "chat_log_retention_days"] as const) {
      numbers[f] = numberOf(d[f]);
      if (changed.includes(f) && Number.isNaN(numbers[f])) {
        local[f] = t("admin.err.number");
      }
    }
    if (Object.keys(local).length > 0) {
      setProblems(local);
      focusFirstProblem("set", settingsFields, local);
      return;
    }
    const secs = (m: number) => ({ seconds: BigInt(Math.round(m * 60)), nanos: 0 });
    setBusy(true);
    try {
      const res = await adminClient.updateAccountSettings(
        {
          settings: {
            webChatEnabled: d.web_chat_enabled,
            fastChatEnabled: d.fast_chat_enabled,
            upgradeHandoff: d.upgrade_handoff,
            openerLifetime: changed.includes("opener_lifetime") ? secs(numbers.opener_lifetime!) : undefined,
            sessionCodeLifetime: changed.includes("session_code_lifetime") ? secs(numbers.session_code_lifetime!) : undefined,
            maxLiveSessionCodesPerAdvisor: numbers.max_live_session_codes_per_advisor,
            chatLogRetentionDays: numbers.chat_log_retention_days,
            language: d.language,
          },
          updateMask: { paths: changed },
        },
        bearer(token),
      );
      const now = draftOf(res.settings!);
      setSaved(now);
      setD(now);
      setOk(t("admin.settings.saved", { n: changed.length }));
    } catch (err) {
      if (!guard(err)) {
        const found = problemsOf(err, settingsFields);
        setProblems(found);
        focusFirstProblem("set", settingsFields, found);
      }
    } finally {
      setBusy(false);
    }
  };
  const num = (f: SettingsPath, label: Key, hint: Key, min: number, max: number) => (
    <TextField id={`set-${f}`} type="number" inputMode="numeric" label={t(label)} hint={t(hint)} min={min} max={max} value={String(d[f])} problem={problems[f]} onInput={(v) => set({ [f]: v })} />
  );
  return (
    <section class="card admin-section" aria-labelledby="settings-title">
      <h3 id="settings-title">{t("admin.settings.heading")}</h3>
      <p class="muted small">{t("admin.settings.intro")}</p>
      <form class="admin-form settings-form" aria-labelledby="settings-title" onSubmit={submit} noValidate>
        <fieldset>
          <legend>{t("admin.settings.sessions")}</legend>
          <Check id="set-web_chat_enabled" label={t("admin.settings.webChat")} hint={t("admin.settings.webChatHint")} checked={d.web_chat_enabled} onChange={(v) => set({ web_chat_enabled: v })} />
          <Check id="set-fast_chat_enabled" label={t("admin.settings.fastChat")} hint={t("admin.settings.fastChatHint")} checked={d.fast_chat_enabled} onChange={(v) => set({ fast_chat_enabled: v })} />
        </fieldset>
        <fieldset aria-describedby={problems.upgrade_handoff ? "set-upgrade_handoff-error" : undefined}>
          <legend>{t("admin.settings.handoff")}</legend>
          <p class="hint">{t("admin.settings.handoffHint")}</p>
          {handoffs.map((h) => (
            <div class="check" key={h}>
              <input type="radio" id={`set-handoff-${h}`} name="set-handoff" checked={d.upgrade_handoff === h} aria-describedby={`set-handoff-${h}-hint`} onChange={() => set({ upgrade_handoff: h })} />
              <label for={`set-handoff-${h}`}>{t(handoffKey[h])}</label>
              <p class="hint" id={`set-handoff-${h}-hint`}>
                {t(`${handoffKey[h]}.hint` as Key)}
              </p>
            </div>
          ))}
          {problems.upgrade_handoff && (
            <p class="field-error" id="set-upgrade_handoff-error">
              {problems.upgrade_handoff}
            </p>
          )}
          {num("opener_lifetime", "admin.settings.opener", "admin.settings.openerHint", 1, 60)}
        </fieldset>
        <fieldset>
          <legend>{t("admin.settings.codes")}</legend>
          {num("session_code_lifetime", "admin.settings.codeLifetime", "admin.settings.codeLifetimeHint", 1, 1440)}
          {num("max_live_session_codes_per_advisor", "admin.settings.maxCodes", "admin.settings.maxCodesHint", 1, 100)}
        </fieldset>
        <fieldset>
          <legend>{t("admin.settings.logs")}</legend>
          {num("chat_log_retention_days", "admin.settings.retention", "admin.settings.retentionHint", 0, 36500)}
          <div class="field">
            <label for="set-language">{t("admin.settings.language")}</label>
            <select id="set-language" value={d.language} aria-describedby="set-language-hint" onChange={(e) => set({ language: (e.currentTarget as HTMLSelectElement).value })}>
              <option value="en" lang="en">
                English
              </option>
              <option value="fr" lang="fr">
                Français
              </option>
            </select>
            <p class="hint" id="set-language-hint">
              {t("admin.settings.languageHint")}
            </p>
            {problems.language && <p class="field-error">{problems.language}</p>}
          </div>
        </fieldset>
        <Status ok={ok} error={problems[whole] ?? ""} />
        <div class="actions">
          <button type="submit" class="primary" id="settings-save" disabled={busy}>
            {changed.length > 0 ? t("admin.settings.save", { n: changed.length }) : t("admin.save")}
          </button>
          {changed.length > 0 && (
            <button
              type="button"
              class="secondary"
              onClick={() => {
                setD(saved);
                setProblems({});
              }}
            >
              {t("admin.settings.undo")}
            </button>
          )}
        </div>
      </form>
    </section>
  );
}

// --- API keys ---------------------------------------------------------

const scopes = [ApiKeyScope.SESSIONS_WRITE, ApiKeyScope.SESSIONS_READ, ApiKeyScope.REPORTS_READ] as const;
const scopeKey = {
  [ApiKeyScope.SESSIONS_WRITE]: "admin.scope.SESSIONS_WRITE",
  [ApiKeyScope.SESSIONS_READ]: "admin.scope.SESSIONS_READ",
  [ApiKeyScope.REPORTS_READ]: "admin.scope.REPORTS_READ",
} as const;
const keyFields = ["name", "scopes"];

function scopeText(s: ApiKeyScope): string {
  return s === ApiKeyScope.UNSPECIFIED ? "" : t(scopeKey[s]);
}

function ApiKeys({ token, guard }: SectionProps) {
  const [keys, setKeys] = useState<ApiKey[] | null>(null);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const [busy, setBusy] = useState(false);
  const [ok, setOk] = useState("");
  const [error, setError] = useState("");
  const load = async () => {
    try {
      setKeys((await adminClient.listApiKeys({}, bearer(token))).apiKeys);
    } catch (err) {
      if (!guard(err)) {
        setError(plainError(err));
      }
    }
  };
  useEffect(() => {
    void load();
  }, [token]);
  const revoke = async (k: ApiKey) => {
    setBusy(true);
    setError("");
    try {
      await adminClient.revokeApiKey({ apiKeyId: k.id }, bearer(token));
      setOk(t("admin.keys.revoked", { name: k.name }));
      await load();
    } catch (err) {
      if (!guard(err)) {
        setError(plainError(err));
      }
    } finally {
      setBusy(false);
      setRevoking(null);
      focusSoon("key-create");
    }
  };
  return (
    <section class="card admin-section" aria-labelledby="keys-title">
      <div class="section-head">
        <h3 id="keys-title">{t("admin.keys.heading")}</h3>
        {!creating && !secret && (
          <button type="button" class="primary" id="key-create" onClick={() => setCreating(true)}>
            {t("admin.keys.create")}
          </button>
        )}
      </div>
      <p class="muted small">{t("admin.keys.intro")}</p>
      <Status ok={ok} error={error} />
      {creating && (
        <KeyForm
          token={token}
          guard={guard}
          onCancel={() => {
            setCreating(false);
            focusSoon("key-create");
          }}
          onCreated={(name, s) => {
            setCreating(false);
            setSecret({ name, secret: s });
            setOk("");
            void load();
            focusSoon("key-secret");
          }}
        />
      )}
      {secret && (
        <SecretOnce
          name={secret.name}
          secret={secret.secret}
          onDone={() => {
            setSecret(null);
            focusSoon("key-create");
          }}
        />
      )}
      {keys === null ? (
        <p class="muted">{t("admin.loading")}</p>
      ) : keys.length === 0 ? (
        <p class="muted">{t("admin.keys.none")}</p>
      ) : (
        <div class="table-wrap">
          <table class="admin-table" aria-labelledby="keys-title">
            <thead>
              <tr>
                <th scope="col">{t("admin.keys.name")}</th>
                <th scope="col">{t("admin.keys.prefix")}</th>
                <th scope="col">{t("admin.keys.scopes")}</th>
                <th scope="col">{t("admin.keys.created")}</th>
                <th scope="col">{t("admin.keys.lastUsed")}</th>
                <th scope="col">{t("admin.advisors.status")}</th>
                <th scope="col">
                  <span class="visually-hidden">{t("admin.actions")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <Fragment key={k.id}>
                  <tr class={k.revokeTime ? "off" : undefined} data-key={k.name}>
                    <th scope="row">{k.name}</th>
                    <td>
                      <code>{k.prefix}…</code>
                    </td>
                    <td>{k.scopes.map(scopeText).join(", ")}</td>
                    <td>{when(k.createTime)}</td>
                    <td>{k.lastUseTime ? when(k.lastUseTime) : <span class="muted">{t("admin.keys.never")}</span>}</td>
                    <td>{k.revokeTime ? <span class="tag off">{t("admin.keys.revokedOn", { time: when(k.revokeTime) })}</span> : <span class="tag yes">{t("admin.keys.active")}</span>}</td>
                    <td class="row-actions">
                      {!k.revokeTime && (
                        <button type="button" class="secondary small" id={`key-revoke-${k.id}`} aria-label={t("admin.keys.revokeFor", { name: k.name })} onClick={() => setRevoking(k)}>
                          {t("admin.keys.revoke")}
                        </button>
                      )}
                    </td>
                  </tr>
                  {revoking?.id === k.id && (
                    <tr class="confirm-row">
                      <td colSpan={7}>
                        <Confirm
                          id={`key-confirm-${k.id}`}
                          text={t("admin.keys.revokeConfirm", { name: k.name })}
                          yes={t("admin.keys.revoke")}
                          danger
                          busy={busy}
                          onYes={() => void revoke(k)}
                          onNo={() => {
                            setRevoking(null);
                            focusSoon(`key-revoke-${k.id}`);
                          }}
                        />
                      </td>
                    </tr>
                  )}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function KeyForm({ token, guard, onCancel, onCreated }: { token: string; guard: (err: unknown) => boolean; onCancel: () => void; onCreated: (name: string, secret: string) => void }) {
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<ApiKeyScope[]>([]);
  const [problems, setProblems] = useState<Problems>({});
  const [busy, setBusy] = useState(false);
  useEffect(() => focusSoon("key-name"), []);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setProblems({});
    try {
      const res = await adminClient.createApiKey({ name, scopes: chosen }, bearer(token));
      onCreated(res.apiKey?.name ?? name, res.secret);
    } catch (err) {
      if (guard(err)) {
        return;
      }
      const found = problemsOf(err, keyFields);
      if (found.scopes) {
        found.scopes = t("admin.err.scopes");
      }
      setProblems(found);
      if (found.name) {
        focusSoon("key-name");
      } else if (found.scopes) {
        focusSoon(`key-scope-${scopes[0]}`);
      }
      setBusy(false);
    }
  };
  return (
    <form class="admin-form" aria-labelledby="key-form-title" onSubmit={submit} noValidate>
      <h4 id="key-form-title">{t("admin.keys.create")}</h4>
      <TextField id="key-name" label={t("admin.keys.name")} hint={t("admin.keys.nameHint")} value={name} maxLength={100} problem={problems.name} onInput={setName} />
      <fieldset aria-describedby={problems.scopes ? "key-scopes-error" : undefined}>
        <legend>{t("admin.keys.scopes")}</legend>
        {scopes.map((s) => (
          <Check
            key={s}
            id={`key-scope-${s}`}
            label={scopeText(s)}
            hint={t(`${scopeKey[s]}.hint` as Key)}
            checked={chosen.includes(s)}
            onChange={(on) => setChosen(on ? [...chosen, s] : chosen.filter((x) => x !== s))}
          />
        ))}
        {problems.scopes && (
          <p class="field-error" id="key-scopes-error">
            {problems.scopes}
          </p>
        )}
      </fieldset>
      {problems[whole] && (
        <p class="error" role="alert">
          {problems[whole]}
        </p>
      )}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {t("admin.keys.createConfirm")}
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          {t("session.cancel")}
        </button>
      </div>
    </form>
  );
}

// SecretOnce shows a new key's secret, the only time it exists outside the
// integrator's hands: the server keeps only its hash.
function SecretOnce({ name, secret, onDone }: { name: string; secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState<boolean | null>(null);
  const field = useRef<HTMLInputElement>(null);
  const copy = async () => {
    field.current?.select();
    try {
      await navigator.clipboard.writeText(secret);
      setCopied(true);
    } catch {
      // No Clipboard API on a plain-http address other than localhost.
      setCopied(document.execCommand("copy"));
    }
  };
  return (
    <div class="secret-once" role="group" aria-labelledby="key-secret-title">
      <h4 id="key-secret-title">{t("admin.keys.secretHeading", { name })}</h4>
      <p class="warning" id="key-secret-warning">
        {t("admin.keys.secretWarning")}
      </p>
      <label for="key-secret">{t("admin.keys.secret")}</label>
      <input id="key-secret" ref={field} type="text" readOnly value={secret} spellcheck={false} aria-describedby="key-secret-warning" onFocus={(e) => (e.currentTarget as HTMLInputElement).select()} />
      <div class="actions">
        <button type="button" class="secondary" id="key-secret-copy" onClick={() => void copy()}>
          {t("admin.keys.copy")}
        </button>
        <button type="button" class="primary" id="key-secret-done" onClick={onDone}>
          {t("admin.keys.secretDone")}
        </button>
      </div>
      <p class="copied small" role="status">
        {copied === null ? "" : copied ? t("admin.keys.copied") : t("admin.keys.copyFailed")}
      </p>
    </div>
  );
}

// --- Audit log --------------------------------------------------------

const actionKey: Record<string, Key> = {
  "advisor.create": "admin.audit.advisor.create",
  "advisor.update": "admin.audit.advisor.update",
  "portal.create": "admin.audit.portal.create",
  "portal.update": "admin.audit.portal.update",
  "api_key.create": "admin.audit.api_key.create",
  "api_key.revoke": "admin.audit.api_key.revoke",
  "account.settings.update": "admin.audit.account.settings.update",
};

function AuditLog({ token, guard }: SectionProps) {
  const [events, setEvents] = useState<AuditEvent[] | null>(null);
  const [next, setNext] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const load = async (pageToken: string) => {
    setBusy(true);
    try {
      const res = await adminClient.listAuditEvents({ pageSize: 25, pageToken }, bearer(token));
      setEvents((prev) => (pageToken && prev ? [...prev, ...res.events] : res.events));
      setNext(res.nextPageToken);
      setError("");
    } catch (err) {
      if (!guard(err)) {
        setError(plainError(err));
      }
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    void load("");
  }, [token]);
  return (
    <section class="card admin-section" aria-labelledby="audit-title">
      <div class="section-head">
        <h3 id="audit-title">{t("admin.audit.heading")}</h3>
        <button type="button" class="secondary" disabled={busy} onClick={() => void load("")}>
          {t("admin.audit.refresh")}
        </button>
      </div>
      <p class="muted small">{t("admin.audit.intro")}</p>
      <Status ok="" error={error} />
      {events === null ? (
        <p class="muted">{t("admin.loading")}</p>
      ) : events.length === 0 ? (
        <p class="muted">{t("admin.audit.none")}</p>
      ) : (
        <div class="table-wrap">
          <table class="admin-table audit" aria-labelledby="audit-title">
            <thead>
              <tr>
                <th scope="col">{t("admin.audit.when")}</th>
                <th scope="col">{t("admin.audit.who")}</th>
                <th scope="col">{t("admin.audit.what")}</th>
                <th scope="col">{t("admin.audit.details")}</th>
              </tr>
            </thead>
            <tbody>
              {events.map((ev) => (
                <tr key={String(ev.id)}>
                  <td class="nowrap">{when(ev.createTime)}</td>
                  <td>{ev.actor?.displayName}</td>
                  <td>{actionKey[ev.action] ? t(actionKey[ev.action]!) : ev.action}</td>
                  <td class="details">{ev.details}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {next && (
        <button type="button" class="secondary" disabled={busy} onClick={() => void load(next)}>
          {t("admin.audit.more")}
        </button>
      )}
    </section>
  );
}
