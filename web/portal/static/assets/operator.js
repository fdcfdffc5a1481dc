// The hub operator's pages: partners (register, suspend, reinstate), users (register, roles, disable,
// enable) and training records, each listed as the API's users query returns them after every change. No
// victim data: the operator's role sees none.
import { el, gql, go, heading, input, select, onSubmit, status, table, checkboxes, checked, errorText, today }
  from "./portal.js";

export const nav = [["", "nav.partners"], ["users", "nav.users"], ["training", "nav.training"]];

const TYPES = ["GOVERNMENT", "NGO", "PRIVATE", "OPERATOR"];
const STATES = ["JOHOR", "KEDAH", "KELANTAN", "MELAKA", "NEGERI_SEMBILAN", "PAHANG", "PERAK", "PERLIS",
  "PULAU_PINANG", "SABAH", "SARAWAK", "SELANGOR", "TERENGGANU", "KUALA_LUMPUR", "LABUAN", "PUTRAJAYA"];
// The roles of the policy (policy/policy.yaml) that people hold; the federation router's is a service's.
const ROLES = ["protection_officer", "enforcement_officer", "ngo_caseworker", "ministry_analyst", "employer_hr", "operator"];

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

const USER_FIELDS = "username";
const TRAINING_FIELDS = "moduleVersion completedOn expiresOn current";

// listUsers asks the API for every registered user, with their roles, partner and training: each page
// shows the hub's state afresh, so a change made here (or by anyone else) is in the list after it.
async function listUsers(also = "") {
  const { data } = await gql(`{ users { username displayName roles disabled partner { name }
    training { ${TRAINING_FIELDS} } } ${also} }`);
  return data;
}

function trainingText(t, list) {
  if (!list.length) return t("users.untrained");
  return list.map((x) => t(x.current ? "users.trainingCurrent" : "users.trainingExpired", { module: x.moduleVersion })).join(", ");
}

function usersTable(t, users) {
  if (!users.length) return el("p", { class: "empty" }, t("users.none"));
  return table(t("users.caption"), [t("users.username"), t("users.displayName"), t("users.partner"), t("users.roles"),
    t("users.status"), t("users.training")], users.map((u) => el("tr", { "data-user": u.username,
    "data-roles": u.roles.join(" "), "data-disabled": String(u.disabled),
    "data-modules": u.training.map((x) => x.moduleVersion).join(" ") },
    el("th", { scope: "row" }, u.username), el("td", {}, u.displayName), el("td", {}, u.partner.name),
    el("td", {}, u.roles.map((r) => t.label("role", r)).join(", ")),
    el("td", {}, t(u.disabled ? "users.disabled" : "users.enabled")), el("td", {}, trainingText(t, u.training)))));
}

async function users(_, { t }) {
  const data = await listUsers("partners { slug name }");
  const create = onSubmit(el("form", { class: "card", "aria-labelledby": "h-new-user" },
    el("h2", { id: "h-new-user" }, t("users.new")),
    select("partnerSlug", t("users.partner"), data.partners.map((p) => [p.slug, p.name])),
    input("username", t("users.username"), { required: true, autocomplete: "off" }),
    input("displayName", t("users.displayName"), { required: true, autocomplete: "off" }),
    checkboxes("roles", t("users.roles"), "role", ROLES),
    el("button", { type: "submit" }, t("users.create"))), async (f) => {
    await gql(`mutation($input: CreateUserInput!) { createUser(input: $input) { ${USER_FIELDS} } }`,
      { input: { partnerSlug: f.partnerSlug.value, username: f.username.value.trim(),
        displayName: f.displayName.value.trim(), roles: checked(f, "roles") } });
    go("users");
    status(t("users.created", { user: f.username.value.trim() }));
  });
  const manage = el("form", { class: "card", "aria-labelledby": "h-manage" },
    el("h2", { id: "h-manage" }, t("users.manage")),
    input("target", t("users.username"), { required: true, autocomplete: "off" }),
    checkboxes("newRoles", t("users.newRoles"), "role", ROLES),
    el("p", { class: "actions" },
      el("button", { type: "submit", value: "setUserRoles" }, t("users.setRoles")),
      el("button", { type: "submit", value: "disableUser", class: "secondary" }, t("users.disable")),
      el("button", { type: "submit", value: "enableUser", class: "secondary" }, t("users.enable"))));
  manage.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const op = ev.submitter?.value || "setUserRoles";
    const username = manage.target.value.trim();
    try {
      if (op === "setUserRoles") {
        await gql(`mutation($u: String!, $r: [String!]!) { setUserRoles(username: $u, roles: $r) { ${USER_FIELDS} } }`,
          { u: username, r: checked(manage, "newRoles") });
      } else {
        await gql(`mutation($u: String!) { ${op}(username: $u) { ${USER_FIELDS} } }`, { u: username });
      }
      go("users");
      status(t(`users.done.${op}`, { user: username }));
    } catch (e) {
      status(errorText(e), "error");
      manage.target.focus();
    }
  });
  return el("div", {}, heading(t("users.title")), el("p", {}, t("users.intro")),
    el("section", { "aria-labelledby": "h-listed" }, el("h2", { id: "h-listed" }, t("users.listed")), usersTable(t, data.users)),
    create, manage);
}

async function training(_, { t }) {
  const { users: all } = await listUsers();
  const completions = all.flatMap((u) => u.training.map((x) => ({ ...x, username: u.username })));
  const form = onSubmit(el("form", { class: "card", "aria-labelledby": "h-record" },
    el("h2", { id: "h-record" }, t("training.record")),
    input("username", t("users.username"), { required: true, autocomplete: "off" }),
    input("moduleVersion", t("training.module"), { required: true, autocomplete: "off", placeholder: "PO-2026.1" }),
    input("completedOn", t("training.completed"), { type: "date", required: true, max: today(), value: today() }),
    input("expiresOn", t("training.expires"), { type: "date" }, t("training.expiresHelp")),
    el("button", { type: "submit" }, t("training.submit"))), async (f) => {
    const { data } = await gql(`mutation($input: RecordTrainingInput!) { recordTraining(input: $input) {
      username ${TRAINING_FIELDS} } }`, { input: { username: f.username.value.trim(),
      moduleVersion: f.moduleVersion.value.trim(), completedOn: f.completedOn.value, expiresOn: f.expiresOn.value || null } });
    go("training");
    status(t("training.done", { user: data.recordTraining.username }));
  });
  return el("div", {}, heading(t("training.title")), el("p", {}, t("training.intro")),
    el("section", { "aria-labelledby": "h-recorded" }, el("h2", { id: "h-recorded" }, t("training.recorded")),
      completions.length ? table(t("training.caption"), [t("users.username"), t("training.module"), t("training.completed"),
        t("training.expires"), t("training.current")], completions.map((x) => el("tr", { "data-training": x.username,
        "data-module": x.moduleVersion },
        el("th", { scope: "row" }, x.username), el("td", {}, x.moduleVersion), el("td", {}, t.date(x.completedOn)),
        el("td", {}, x.expiresOn ? t.date(x.expiresOn) : t("training.never")), el("td", {}, t(x.current ? "value.yes" : "value.no")))))
        : el("p", { class: "empty" }, t("training.none"))),
    form);
}

export const routes = { "": partners, users, training };
