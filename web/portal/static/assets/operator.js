// The hub operator's pages: partners (register, suspend, reinstate), users (register, roles, disable,
// enable) and training records. No victim data: the operator's role sees none.
import { el, gql, go, heading, input, select, onSubmit, status, table, checkboxes, checked, errorText, today }
  from "./portal.js";

export const nav = [["", "nav.partners"], ["users", "nav.users"], ["training", "nav.training"]];

const TYPES = ["GOVERNMENT", "NGO", "PRIVATE", "OPERATOR"];
const STATES = ["JOHOR", "KEDAH", "KELANTAN", "MELAKA", "NEGERI_SEMBILAN", "PAHANG", "PERAK", "PERLIS",
  "PULAU_PINANG", "SABAH", "SARAWAK", "SELANGOR", "TERENGGANU", "KUALA_LUMPUR", "LABUAN", "PUTRAJAYA"];
// The roles of the policy (policy/policy.yaml) that people hold; the federation router's is a service's.
const ROLES = ["protection_officer", "enforcement_officer", "ngo_caseworker", "ministry_analyst", "employer_hr", "operator"];

// The API has no listing of users or training records: this page lists those changed in this tab.
const changedUsers = new Map();
const trainings = [];

async function partners(_, { t }) {
  const { data } = await gql("{ partners { id slug name type state suspended } }");
  const toggle = (p) => el("button", { type: "button", class: "secondary", "data-toggle": p.slug, onclick: async (ev) => {
    const b = ev.currentTarget;
    b.disabled = true;
    try {
      const m = p.suspended ? "reinstatePartner" : "suspendPartner";
      await gql(`mutation($slug: String!) { ${m}(slug: $slug) { slug suspended } }`, { slug: p.slug });
      go("");
      status(t(p.suspended ? "partners.reinstated" : "partners.suspended", { name: p.name }));
    } catch (e) {
      b.disabled = false;
      status(errorText(e), "error");
    }
  } }, t(p.suspended ? "partners.reinstate" : "partners.suspend", { name: p.name }));
  const form = onSubmit(el("form", { class: "card", "aria-labelledby": "h-new-partner" },
    el("h2", { id: "h-new-partner" }, t("partners.new")),
    input("slug", t("partners.slug"), { required: true, pattern: "[a-z0-9][a-z0-9-]{1,62}", autocomplete: "off" }, t("partners.slugHelp")),
    input("name", t("partners.name"), { required: true, autocomplete: "off" }),
    select("type", t("partners.type"), TYPES.map((x) => [x, t.label("partnerType", x)])),
    select("state", t("partners.state"), STATES.map((x) => [x, t.label("state", x)])),
    el("button", { type: "submit" }, t("partners.create"))), async (f) => {
    await gql(`mutation($input: CreatePartnerInput!) { createPartner(input: $input) { id slug } }`,
      { input: { slug: f.slug.value.trim(), name: f.name.value.trim(), type: f.type.value, state: f.state.value } });
    go("");
    status(t("partners.created", { name: f.name.value.trim() }));
  });
  return el("div", {}, heading(t("partners.title")),
    table(t("partners.caption"), [t("partners.name"), t("partners.slug"), t("partners.type"), t("partners.state"),
      t("partners.status"), t("partners.action")], data.partners.map((p) => el("tr", { "data-partner": p.slug },
      el("th", { scope: "row" }, p.name), el("td", {}, p.slug), el("td", {}, t.label("partnerType", p.type)),
      el("td", {}, t.label("state", p.state)), el("td", { "data-suspended": String(p.suspended) },
        t(p.suspended ? "partners.isSuspended" : "partners.isActive")), el("td", {}, p.type === "OPERATOR" ? "" : toggle(p))))),
    form);
}

const USER_FIELDS = "id username displayName roles disabled partner { name }";

function usersTable(t) {
  const rows = [...changedUsers.values()];
  if (!rows.length) return el("p", { class: "empty" }, t("users.noneChanged"));
  return table(t("users.caption"), [t("users.username"), t("users.displayName"), t("users.partner"), t("users.roles"),
    t("users.status")], rows.map((u) => el("tr", { "data-user": u.username },
    el("th", { scope: "row" }, u.username), el("td", {}, u.displayName), el("td", {}, u.partner.name),
    el("td", {}, u.roles.map((r) => t.label("role", r)).join(", ")),
    el("td", {}, t(u.disabled ? "users.disabled" : "users.enabled")))));
}

async function users(_, { t }) {
  const { data } = await gql("{ partners { slug name } }");
  const create = onSubmit(el("form", { class: "card", "aria-labelledby": "h-new-user" },
    el("h2", { id: "h-new-user" }, t("users.new")),
    select("partnerSlug", t("users.partner"), data.partners.map((p) => [p.slug, p.name])),
    input("username", t("users.username"), { required: true, autocomplete: "off" }),
    input("displayName", t("users.displayName"), { required: true, autocomplete: "off" }),
    checkboxes("roles", t("users.roles"), "role", ROLES),
    el("button", { type: "submit" }, t("users.create"))), async (f) => {
    const { data: d } = await gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { ${USER_FIELDS} } }`,
      { input: { partnerSlug: f.partnerSlug.value, username: f.username.value.trim(),
        displayName: f.displayName.value.trim(), roles: checked(f, "roles") } });
    changedUsers.set(d.createUser.username, d.createUser);
    go("users");
    status(t("users.created", { user: d.createUser.username }));
  });
  const manage = el("form", { class: "card", "aria-labelledby": "h-manage" },
    el("h2", { id: "h-manage" }, t("users.manage")),
    input("who", t("users.username"), { required: true, autocomplete: "off" }),
    checkboxes("newRoles", t("users.newRoles"), "role", ROLES),
    el("p", { class: "actions" },
      el("button", { type: "submit", value: "setUserRoles" }, t("users.setRoles")),
      el("button", { type: "submit", value: "disableUser", class: "secondary" }, t("users.disable")),
      el("button", { type: "submit", value: "enableUser", class: "secondary" }, t("users.enable"))));
  manage.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const op = ev.submitter?.value || "setUserRoles";
    const username = manage.who.value.trim();
    try {
      const { data: d } = op === "setUserRoles"
        ? await gql(`mutation($u: String!, $r: [String!]!) { setUserRoles(username: $u, roles: $r) { ${USER_FIELDS} } }`,
          { u: username, r: checked(manage, "newRoles") })
        : await gql(`mutation($u: String!) { ${op}(username: $u) { ${USER_FIELDS} } }`, { u: username });
      changedUsers.set(username, d[op]);
      go("users");
      status(t(`users.done.${op}`, { user: username }));
    } catch (e) {
      status(errorText(e), "error");
      manage.who.focus();
    }
  });
  return el("div", {}, heading(t("users.title")), el("p", {}, t("users.intro")),
    el("section", { "aria-labelledby": "h-changed" }, el("h2", { id: "h-changed" }, t("users.changed")), usersTable(t)),
    create, manage);
}

async function training(_, { t }) {
  const form = onSubmit(el("form", { class: "card", "aria-labelledby": "h-record" },
    el("h2", { id: "h-record" }, t("training.record")),
    input("username", t("users.username"), { required: true, autocomplete: "off" }),
    input("moduleVersion", t("training.module"), { required: true, autocomplete: "off", placeholder: "PO-2026.1" }),
    input("completedOn", t("training.completed"), { type: "date", required: true, max: today(), value: today() }),
    input("expiresOn", t("training.expires"), { type: "date" }, t("training.expiresHelp")),
    el("button", { type: "submit" }, t("training.submit"))), async (f) => {
    const { data } = await gql(`mutation($input: RecordTrainingInput!) { recordTraining(input: $input) {
      username moduleVersion completedOn expiresOn current } }`, { input: { username: f.username.value.trim(),
      moduleVersion: f.moduleVersion.value.trim(), completedOn: f.completedOn.value, expiresOn: f.expiresOn.value || null } });
    trainings.unshift(data.recordTraining);
    go("training");
    status(t("training.done", { user: data.recordTraining.username }));
  });
  return el("div", {}, heading(t("training.title")), el("p", {}, t("training.intro")),
    el("section", { "aria-labelledby": "h-recorded" }, el("h2", { id: "h-recorded" }, t("training.recorded")),
      trainings.length ? table(t("training.caption"), [t("users.username"), t("training.module"), t("training.completed"),
        t("training.expires"), t("training.current")], trainings.map((x) => el("tr", { "data-training": x.username },
        el("th", { scope: "row" }, x.username), el("td", {}, x.moduleVersion), el("td", {}, t.date(x.completedOn)),
        el("td", {}, x.expiresOn ? t.date(x.expiresOn) : t("training.never")), el("td", {}, t(x.current ? "value.yes" : "value.no")))))
        : el("p", { class: "empty" }, t("training.none"))),
    form);
}

export const routes = { "": partners, users, training };
