// The NGO caseworker's pages: the referral inbox (new, accepted, overdue) with accept, reject with a
// reason and complete; the referred case as the API discloses it, withheld fields marked with their
// reason; recording a service delivered.
import { el, gql, go, heading, fieldList, valueText, input, select, onSubmit, status, link, newKey, today, errorText, withheldNote,
  withheldPaths, shownValue }
  from "./portal.js";

export const nav = [["", "nav.inbox"]];

// The fields of a referred case, in the order the page shows them, with how to read each value.
export const CASE_FIELDS = [["caseRef"], ["legalName"], ["aliases"], ["dateOfBirth", "date"], ["ageBand", "ageBand"],
  ["gender", "gender"], ["citizenship"], ["languages"], ["interpreterNeeded"], ["phone"],
  ["traffickingStatus", "traffickingStatus"], ["exploitationTypes", "exploitationType"], ["sector", "sector"],
  ["meansOfControl", "meansOfControl"], ["identifiedOn", "date"], ["medicalNeeds"], ["counsellingNotes"]];
export const CASE_QUERY = `id ${CASE_FIELDS.map(([f]) => f).join(" ")} withheld { field reason category }`;

const INBOX = `{ referrals { id status service dueOn createdAt reason rejectionReason categories
  from { name } victim { id caseRef } } }`;

function sections(referrals) {
  const now = today();
  const open = (r) => r.status === "IN_PROGRESS" || r.status === "ACCEPTED";
  const overdue = referrals.filter((r) => open(r) && r.dueOn && r.dueOn < now);
  return {
    new: referrals.filter((r) => r.status === "IN_PROGRESS" && !overdue.includes(r)),
    accepted: referrals.filter((r) => r.status === "ACCEPTED" && !overdue.includes(r)),
    overdue,
  };
}

function card(r, t, withheld) {
  const id = `ref-${r.id}`;
  const actions = el("div", { class: "actions" });
  const article = el("article", { class: "card referral", "data-referral": r.id, "data-status": r.status,
    "data-index": r.index,
    "aria-labelledby": id },
  el("h3", { id }, t("referral.title", { service: t.label("service", r.service), from: r.from?.name ?? "" })),
  el("dl", { class: "fields compact" },
    el("dt", {}, t("referral.status")), el("dd", {}, t.label("referralStatus", r.status)),
    el("dt", {}, t("referral.due")), el("dd", { "data-due": r.dueOn }, t.date(r.dueOn)),
    el("dt", {}, t("referral.received")), el("dd", {}, t.time(r.createdAt)),
    el("dt", {}, t("referral.reason")), shownValue(r.reason, withheld.get(`referrals[${r.index}].reason`)),
    el("dt", {}, t("referral.categories")), el("dd", {}, valueText(r.categories, "category")),
    r.victim ? [el("dt", {}, t("field.caseRef")), el("dd", {}, r.victim.caseRef)] : null),
  actions);
  const act = (action, label, mutation, done) => el("button", { type: "button", "data-action": action, onclick: async (ev) => {
    ev.target.disabled = true;
    status(t("status.working"));
    try {
      await gql(mutation, { id: r.id });
      status(t(done));
      go("");
    } catch (e) {
      ev.target.disabled = false;
      status(errorText(e), "error");
    }
  } }, label);
  if (r.status === "IN_PROGRESS") {
    actions.append(act("accept", t("referral.accept"), "mutation($id: ID!) { acceptReferral(id: $id) { id status } }",
      "referral.accepted"));
    const form = onSubmit(el("form", { class: "reject", hidden: true, "aria-label": t("referral.rejectForm") },
      el("div", { class: "field" }, el("label", { for: `${id}-why` }, t("referral.rejectReason")),
        el("textarea", { id: `${id}-why`, name: "reason", required: true, rows: "2" })),
      el("button", { type: "submit" }, t("referral.rejectSend"))), async (f) => {
      await gql("mutation($id: ID!, $reason: String!) { rejectReferral(id: $id, reason: $reason) { id status } }",
        { id: r.id, reason: f.reason.value.trim() });
      status(t("referral.rejected"));
      go("");
    });
    actions.append(el("button", { type: "button", class: "secondary", "aria-expanded": "false", "data-action": "reject",
      onclick: (ev) => {
        form.hidden = !form.hidden;
        ev.target.setAttribute("aria-expanded", String(!form.hidden));
        if (!form.hidden) form.reason.focus();
      } }, t("referral.reject")), form);
  }
  if (r.status === "ACCEPTED") {
    if (r.victim) actions.append(link(`case/${r.victim.id}`, t("referral.open", { caseRef: r.victim.caseRef }), { class: "button" }));
    actions.append(act("complete", t("referral.complete"), "mutation($id: ID!) { completeReferral(id: $id) { id status } }",
      "referral.completed"));
  }
  return article;
}

async function inbox(_, { t }) {
  const { data, extensions } = await gql(INBOX);
  const withheld = withheldPaths(extensions);
  const s = sections(data.referrals.map((r, index) => ({ ...r, index })));
  const part = (key) => el("section", { "aria-labelledby": `h-${key}`, "data-section": key },
    el("h2", { id: `h-${key}` }, t(`inbox.${key}`, { n: s[key].length })),
    s[key].length ? s[key].map((r) => card(r, t, withheld)) : el("p", { class: "empty" }, t("inbox.none")));
  return el("div", {}, heading(t("inbox.title")), el("p", {}, t("inbox.intro")),
    part("new"), part("overdue"), part("accepted"));
}

async function caseView([id], { t }) {
  const [{ data }, refs] = await Promise.all([
    gql(`query($id: ID!) { victim(id: $id) { ${CASE_QUERY} services { id status deliveredOn scheduledFor
      service { code name } provider { name } } } }`, { id }),
    gql("{ referrals(status: ACCEPTED) { service victim { id } } }")]);
  const v = data.victim;
  if (!v) return el("div", {}, heading(t("case.notFound")), el("p", {}, link("", t("nav.inbox"))));
  const mine = [...new Set(refs.data.referrals.filter((r) => r.victim?.id === id).map((r) => r.service))];
  const form = onSubmit(el("form", { class: "card", "aria-labelledby": "h-deliver" },
    el("h2", { id: "h-deliver" }, t("deliver.title")),
    select("service", t("deliver.service"), mine.map((s) => [s, t.label("service", s)]), { required: true }),
    input("deliveredOn", t("deliver.on"), { type: "date", value: today(), max: today(), required: true }),
    el("button", { type: "submit" }, t("deliver.submit"))), async (f) => {
    await gql(`mutation($input: ServiceDeliveryInput!, $key: String) {
      recordServiceDelivery(input: $input, idempotencyKey: $key) { id status } }`,
    { input: { victimId: id, service: f.service.value, deliveredOn: f.deliveredOn.value }, key: newKey() });
    go(`case/${id}`);
    status(t("deliver.done"));
  });
  const services = v.services || [];
  return el("div", {}, heading(t("case.title", { caseRef: v.caseRef })),
    el("p", {}, t("case.ngoIntro")),
    fieldList(v, CASE_FIELDS),
    el("section", { "aria-labelledby": "h-services" }, el("h2", { id: "h-services" }, t("case.services")),
      withheldNote(v, "services") || (services.length ? el("ul", {}, services.map((s) => el("li", { "data-service": s.id },
        t("service.line", { service: s.service?.name ?? "", status: t.label("serviceStatus", s.status),
          provider: s.provider?.name ?? "", date: t.date(s.deliveredOn || s.scheduledFor) }))))
        : el("p", { class: "empty" }, t("case.noServices")))),
    mine.length ? form : el("p", {}, t("deliver.none")),
    el("p", {}, link("", t("case.back"))));
}

export const routes = { "": inbox, case: caseView };
