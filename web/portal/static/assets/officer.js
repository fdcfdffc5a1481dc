// The protection officer's pages: the case list and case view; recording consent with its provisions and
// withdrawing it; referring a case to an NGO; the victim's consent receipt and "who saw my data" report as
// printable pages, in the language the victim reads.
import { el, gql, go, heading, fieldList, valueText, input, select, onSubmit, status, link, newKey, today,
  table, checkboxes, checked, withheldNote, errorText } from "./portal.js";
import { CASE_FIELDS, CASE_QUERY } from "./ngo.js";
import { translator } from "./i18n.js";

export const nav = [["", "nav.cases"], ["overdue", "nav.overdue"]];

const CATEGORIES = ["IDENTITY", "CONTACT", "DEMOGRAPHIC", "CASE", "LOCATION", "HEALTH", "COUNSELLING", "LEGAL",
  "FAMILY", "EMPLOYMENT"];
const PURPOSES = ["CASE_MANAGEMENT", "SERVICE_DELIVERY", "PROSECUTION", "EMPLOYMENT_CHECK", "STATISTICS",
  "FAMILY_CONTACT"];
const PARTNER_TYPES = ["GOVERNMENT", "NGO", "PRIVATE"];
// The receipt's languages are the API's (ReceiptLanguage); the report's are the portal's catalogs.
const RECEIPT_LANGS = ["en", "ms"];

// inDays is the local date n days from today, YYYY-MM-DD.
function inDays(n) {
  const d = new Date();
  d.setDate(d.getDate() + n);
  return d.toLocaleDateString("en-CA");
}

async function cases(args, { t }) {
  const after = args[0] || null;
  const { data } = await gql(`query($after: String) { victims(first: 20, after: $after) { totalCount
    edges { node { id caseRef legalName ageBand gender traffickingStatus withheld { field reason category } } }
    pageInfo { hasNextPage endCursor } } }`, { after });
  const c = data.victims;
  const cell = (v, f, kind) => {
    const w = (v.withheld || []).find((x) => x.field === f);
    return w ? el("td", { class: "withheld", "data-withheld": w.reason }, t("withheld.short"))
      : el("td", {}, valueText(v[f], kind));
  };
  return el("div", {}, heading(t("cases.title")),
    el("p", {}, t("cases.count", { n: c.totalCount })),
    table(t("cases.caption"), [t("field.caseRef"), t("field.legalName"), t("field.ageBand"), t("field.gender"),
      t("field.traffickingStatus")], c.edges.map(({ node: v }) => el("tr", { "data-case": v.id },
      el("th", { scope: "row" }, link(`case/${v.id}`, v.caseRef)), cell(v, "legalName"), cell(v, "ageBand", "ageBand"),
      cell(v, "gender", "gender"), cell(v, "traffickingStatus", "traffickingStatus")))),
    c.pageInfo.hasNextPage ? el("p", {}, link(`cases/${encodeURIComponent(c.pageInfo.endCursor)}`, t("cases.next"))) : null);
}

// overdue lists the open referrals the agency sent whose due date has passed, the most overdue first.
async function overdue(_, { t }) {
  const { data } = await gql("{ overdueReferrals { id service dueOn to { name } victim { id caseRef } } }");
  const list = data.overdueReferrals;
  return el("div", {}, heading(t("cases.overdue", { n: list.length })),
    list.length ? table(t("cases.overdueCaption"), [t("field.caseRef"), t("refer.service"), t("refer.to"), t("refer.due")],
      list.map((r) => el("tr", { "data-overdue": r.id },
        el("th", { scope: "row" }, r.victim ? link(`case/${r.victim.id}`, r.victim.caseRef) : t("withheld.short")),
        el("td", {}, t.label("service", r.service)), el("td", {}, r.to?.name ?? ""), el("td", {}, t.date(r.dueOn)))))
      : el("p", { class: "empty" }, t("cases.noOverdue")));
}

function provisionText(p, t) {
  const to = p.granteePartner?.name ?? (p.granteeType ? t.label("partnerType", p.granteeType) : "");
  return t("consent.provision", { to, categories: valueText(p.categories, "category"),
    purposes: valueText(p.purposes, "purpose"), until: p.periodEnd ? t.date(p.periodEnd) : t("consent.untilWithdrawn") });
}

async function caseView([id], { t }) {
  const { data } = await gql(`query($id: ID!) { victim(id: $id) { ${CASE_QUERY} currentShelter { name }
    consents { id status recordedAt method language grantorRelation withdrawnAt
      provisions { granteePartner { name } granteeType categories purposes periodStart periodEnd } }
    referrals { id status service dueOn to { name } } } }`, { id });
  const v = data.victim;
  if (!v) return el("div", {}, heading(t("case.notFound")), el("p", {}, link("", t("nav.cases"))));
  const consents = v.consents || [];
  // Withdrawing takes two presses: the first asks to confirm, on the same button.
  const withdraw = (c) => el("button", { type: "button", class: "secondary", "data-withdraw": c.id, onclick: async (ev) => {
    const b = ev.currentTarget;
    if (!b.dataset.armed) {
      b.dataset.armed = "true";
      b.textContent = t("consent.withdrawConfirm");
      status(t("consent.withdrawAsk"));
      return;
    }
    b.disabled = true;
    try {
      await gql("mutation($id: ID!) { withdrawConsent(id: $id) { id status } }", { id: c.id });
      go(`case/${id}`);
      status(t("consent.withdrawn"));
    } catch (e) {
      b.disabled = false;
      status(errorText(e), "error");
    }
  } }, t("consent.withdraw"));
  return el("div", {}, heading(t("case.title", { caseRef: v.caseRef })),
    el("p", { class: "actions" }, link(`consent/${id}`, t("consent.record"), { class: "button" }),
      link(`refer/${id}`, t("refer.title"), { class: "button" }),
      link(`report/${id}/en`, t("report.open", { language: "English" }), { class: "button secondary" }),
      link(`report/${id}/ms`, t("report.open", { language: "Bahasa Melayu" }), { class: "button secondary", lang: "ms" })),
    fieldList(v, [...CASE_FIELDS, ["currentShelter"]]),
    el("section", { "aria-labelledby": "h-consents" }, el("h2", { id: "h-consents" }, t("consent.title")),
      withheldNote(v, "consents") || (consents.length ? consents.map((c) => el("article",
        { class: "card", "data-consent": c.id, "data-status": c.status, "aria-labelledby": `c-${c.id}` },
        el("h3", { id: `c-${c.id}` }, t("consent.heading", { date: t.time(c.recordedAt), status: t.label("consentStatus", c.status) })),
        el("p", {}, t("consent.meta", { method: t.label("consentMethod", c.method), language: c.language ?? "",
          grantor: t.label("grantor", c.grantorRelation) })),
        el("ul", {}, (c.provisions || []).map((p) => el("li", {}, provisionText(p, t)))),
        el("p", { class: "actions" },
          RECEIPT_LANGS.map((l) => link(`receipt/${id}/${c.id}/${l}`, t("receipt.open", { language: l === "ms" ? "Bahasa Melayu" : "English" }),
            { class: "button secondary", lang: l === "ms" ? "ms" : null })),
          c.status === "ACTIVE" || c.status === "PENDING" || c.status === "SCHEDULED" ? withdraw(c) : null)))
        : el("p", { class: "empty" }, t("consent.none")))),
    el("section", { "aria-labelledby": "h-referrals" }, el("h2", { id: "h-referrals" }, t("case.referrals")),
      withheldNote(v, "referrals") || ((v.referrals || []).length ? el("ul", {}, v.referrals.map((r) => el("li", {},
        t("referral.line", { service: t.label("service", r.service), to: r.to?.name ?? "",
          status: t.label("referralStatus", r.status), date: t.date(r.dueOn) }))))
        : el("p", { class: "empty" }, t("case.noReferrals")))),
    el("p", {}, link("", t("case.backCases"))));
}

async function partnerOptions(type) {
  const { data } = await gql("query($type: PartnerType) { partners(type: $type) { slug name suspended } }", { type });
  return data.partners.filter((p) => !p.suspended).map((p) => [p.slug, p.name]);
}

function provisionFieldset(n, partners, t) {
  return el("fieldset", { class: "provision", "data-provision": String(n) },
    el("legend", {}, t("consent.provisionN", { n: n + 1 })),
    select(`grantee-${n}`, t("consent.grantee"), [["", t("consent.chooseGrantee")],
      ...partners.map(([s, name]) => [`partner:${s}`, name]),
      ...PARTNER_TYPES.map((ty) => [`type:${ty}`, t("consent.everyOfType", { type: t.label("partnerType", ty) })])],
    { required: true }),
    checkboxes(`categories-${n}`, t("consent.categories"), "category", CATEGORIES),
    checkboxes(`purposes-${n}`, t("consent.purposes"), "purpose", PURPOSES),
    input(`until-${n}`, t("consent.until"), { type: "date", min: today() }, t("consent.untilHelp")));
}

async function consentForm([id], { t }) {
  const [{ data }, partners] = await Promise.all([gql("query($id: ID!) { victim(id: $id) { id caseRef } }", { id }),
    partnerOptions(null)]);
  if (!data.victim) return el("div", {}, heading(t("case.notFound")));
  const provisions = el("div", {}, provisionFieldset(0, partners, t));
  let n = 1;
  const form = onSubmit(el("form", { class: "card", "aria-labelledby": "page-title" },
    select("grantor", t("consent.grantor"), [["SELF", t.label("grantor", "SELF")], ["MOTHER", t.label("grantor", "MOTHER")]]),
    input("grantorVictimId", t("consent.motherId"), {}, t("consent.motherHelp")),
    input("language", t("consent.language"), { required: true, autocomplete: "off", maxlength: "8" }, t("consent.languageHelp")),
    select("interpreterSlug", t("consent.interpreter"), [["", t("consent.noInterpreter")], ...partners]),
    select("method", t("consent.method"), [["WRITTEN", t.label("consentMethod", "WRITTEN")], ["VERBAL", t.label("consentMethod", "VERBAL")]]),
    input("documentRef", t("consent.documentRef"), { autocomplete: "off" }, t("consent.documentHelp")),
    provisions,
    el("p", {}, el("button", { type: "button", class: "secondary", onclick: () => {
      const f = provisionFieldset(n++, partners, t);
      provisions.append(f);
      f.querySelector("select").focus();
    } }, t("consent.addProvision"))),
    el("button", { type: "submit" }, t("consent.submit"))), async (f) => {
    const list = [];
    for (const fs of f.querySelectorAll("fieldset.provision")) {
      const k = fs.dataset.provision;
      const [kind, value] = f[`grantee-${k}`].value.split(":");
      // A grant "until" a day lasts to that day's end in Malaysia (UTC+8, no daylight saving).
      const until = f[`until-${k}`].value;
      list.push({ granteeSlug: kind === "partner" ? value : null, granteeType: kind === "type" ? value : null,
        categories: checked(f, `categories-${k}`), purposes: checked(f, `purposes-${k}`),
        periodEnd: until ? `${until}T23:59:59+08:00` : null });
    }
    const input = { victimId: id, grantor: f.grantor.value, grantorVictimId: f.grantorVictimId.value.trim() || null,
      language: f.language.value.trim(), interpreterSlug: f.interpreterSlug.value || null, method: f.method.value,
      documentRef: f.documentRef.value.trim() || null, provisions: list };
    const { data: d } = await gql(`mutation($input: RecordConsentInput!, $key: String) {
      recordConsent(input: $input, idempotencyKey: $key) { id status } }`, { input, key: newKey() });
    go(`case/${id}`);
    status(t("consent.recorded", { status: t.label("consentStatus", d.recordConsent.status) }));
  });
  return el("div", {}, heading(t("consent.recordTitle", { caseRef: data.victim.caseRef })), form,
    el("p", {}, link(`case/${id}`, t("case.backCase"))));
}

async function referForm([id], { t }) {
  const [{ data }, ngos, services] = await Promise.all([gql("query($id: ID!) { victim(id: $id) { id caseRef } }", { id }),
    partnerOptions("NGO"), gql("{ services { code name } }")]);
  if (!data.victim) return el("div", {}, heading(t("case.notFound")));
  const form = onSubmit(el("form", { class: "card", "aria-labelledby": "page-title" },
    select("toSlug", t("refer.to"), ngos, { required: true }),
    select("service", t("refer.service"), services.data.services.map((s) => [s.code, t.label("service", s.code)])),
    checkboxes("categories", t("refer.categories"), "category", CATEGORIES, ["CASE", "DEMOGRAPHIC"]),
    input("dueOn", t("refer.due"), { type: "date", min: today(), required: true, value: inDays(14) }),
    el("div", { class: "field" }, el("label", { for: "reason" }, t("refer.reason")),
      el("textarea", { id: "reason", name: "reason", required: true, rows: "3" })),
    el("button", { type: "submit" }, t("refer.submit"))), async (f) => {
    const input = { victimId: id, toSlug: f.toSlug.value, service: f.service.value,
      categories: checked(f, "categories"), dueOn: f.dueOn.value, reason: f.reason.value.trim() };
    await gql(`mutation($input: ReferVictimInput!, $key: String) { referVictim(input: $input, idempotencyKey: $key) { id status } }`,
      { input, key: newKey() });
    go(`case/${id}`);
    status(t("refer.done"));
  });
  return el("div", {}, heading(t("refer.pageTitle", { caseRef: data.victim.caseRef })), form,
    el("p", {}, link(`case/${id}`, t("case.backCase"))));
}

// document wraps a victim-facing page: its text in the victim's language (lang), the controls in the
// user's, hidden when printed.
function document_(t, d, lang, body, back) {
  return el("div", {},
    el("p", { class: "no-print actions" }, el("button", { type: "button", onclick: () => window.print() }, t("print")),
      link(back, t("case.backCase"))),
    el("article", { class: "doc", lang }, body));
}

async function receipt([id, consentId, lang], { t }) {
  const language = RECEIPT_LANGS.includes(lang) ? lang : "en";
  const d = await translator(language);
  const { data } = await gql(`query($id: ID!, $lang: ReceiptLanguage!) { victim(id: $id) { caseRef
    consents { id recordedAt receipt(language: $lang) } } }`, { id, lang: language.toUpperCase() });
  const c = (data.victim?.consents || []).find((x) => x.id === consentId);
  if (!c) return el("div", {}, heading(t("case.notFound")));
  return document_(t, d, language, [
    el("h1", { tabindex: "-1", id: "page-title" }, d("receipt.title")),
    el("p", { class: "meta" }, d("doc.caseRef", { caseRef: data.victim.caseRef }), " · ", d.time(c.recordedAt)),
    el("div", { class: "receipt", "data-receipt": c.receipt }, (c.receipt || "").split(/\n{2,}/).map((para) => el("p", {}, para)))],
  `case/${id}`);
}

async function report([id, lang], { t, langs }) {
  const language = (langs || []).some((l) => l.code === lang) ? lang : "en";
  const d = await translator(language);
  const { data } = await gql(`query($id: ID!) { victim(id: $id) { caseRef }
    disclosures(victimId: $id) { on partnerName partnerType purpose categories } }`, { id });
  if (!data.victim) return el("div", {}, heading(t("case.notFound")));
  const lines = data.disclosures;
  return document_(t, d, language, [
    el("h1", { tabindex: "-1", id: "page-title" }, d("report.title")),
    el("p", { class: "meta" }, d("doc.caseRef", { caseRef: data.victim.caseRef }), " · ", d("doc.printed", { date: d.date(today()) })),
    el("p", {}, d("report.intro")),
    lines.length ? el("ol", { class: "report" }, lines.map((x) => el("li", { "data-on": x.on, "data-partner": x.partnerName,
      "data-purpose": x.purpose, "data-categories": x.categories.join(",") },
    d("report.line", { date: d.date(x.on), partner: x.partnerName, type: d.label("partnerType", x.partnerType),
      categories: x.categories.map((c) => d.label("categoryPlain", c)).join(", "), purpose: d.label("purposePlain", x.purpose) }))))
      : el("p", {}, d("report.none")),
    el("p", {}, d("report.rights"))], `case/${id}`);
}

export const routes = { "": cases, cases, overdue, case: caseView, consent: consentForm, refer: referForm, receipt, report };
