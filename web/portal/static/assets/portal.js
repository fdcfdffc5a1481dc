// Lindung partner portal: sign-in, the GraphQL client, routing and the widgets every role's pages share.
// Every page calls the hub's public API (../graphql) with the caller's own token, so it can never show more
// than the API discloses to that caller. The token lives in this tab's sessionStorage only (never
// localStorage); it may also arrive in the URL fragment (#token=...), which never reaches the server and
// is removed from the address bar at once. UI text comes from the message catalogs (i18n.js).
import { languages, translator } from "./i18n.js";

const TOKEN = "lindung.portal.token";
const LANG = "lindung.portal.lang";
export const $ = (id) => document.getElementById(id);

// el builds an element: attributes (class, on* handlers, booleans), then children (strings or nodes;
// null, undefined and false are skipped).
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [a, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (a === "class") e.className = v;
    else if (a.startsWith("on")) e.addEventListener(a.slice(2), v);
    else e.setAttribute(a, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

// ApiError is a refused request: code is the API's extensions.code (RATE_LIMITED, FORBIDDEN, INVALID, ...).
export class ApiError extends Error {
  constructor(message, code, extra) {
    super(message);
    this.code = code || "";
    Object.assign(this, extra);
  }
}

// gql sends one operation and returns {data, extensions}; it throws ApiError on any error.
export async function gql(query, variables) {
  const token = sessionStorage.getItem(TOKEN);
  let res;
  try {
    res = await fetch("../graphql", { method: "POST", credentials: "omit",
      headers: { "Content-Type": "application/json", Accept: "application/graphql-response+json, application/json",
        Authorization: `Bearer ${token}` },
      body: JSON.stringify({ query, variables }) });
  } catch (e) {
    throw new ApiError(e.message, "NETWORK");
  }
  let body = {};
  try { body = await res.json(); } catch { /* not JSON: reported below */ }
  if (body.errors && body.errors.length) {
    const e = body.errors[0];
    throw new ApiError(e.message, e.extensions?.code, { field: e.extensions?.field,
      retryAfter: Number(res.headers.get("Retry-After")) || 0, status: res.status });
  }
  if (!res.ok || !body.data) throw new ApiError(`HTTP ${res.status}`, "HTTP", { status: res.status });
  return { data: body.data, extensions: body.extensions || {} };
}

// key returns a fresh idempotency key: a form's retries are answered once.
export function newKey() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

export const today = () => new Date().toLocaleDateString("en-CA");

const app = { t: null, viewer: null, module: null, langs: [] };

// status tells the result of an action in the live region; kind "error" marks it as a problem.
export function status(text, kind) {
  const s = $("status");
  s.textContent = text || "";
  s.className = kind || "";
}

// errorText turns an API refusal into a sentence for the user, never a dump of the response.
export function errorText(e) {
  const t = app.t;
  if (e.code === "RATE_LIMITED") return t("error.rateLimited", { seconds: e.retryAfter || 1 });
  if (t.has(`error.${e.code}`)) return t(`error.${e.code}`) + (e.code === "INVALID" && e.message ? ` (${e.message})` : "");
  return t("error.other", { message: e.message });
}

// field widgets --------------------------------------------------------------------------------------

// value renders a disclosed value as text: enums by their catalog label, dates and lists in words.
export function valueText(v, kind) {
  const t = app.t;
  if (v === null || v === undefined || (Array.isArray(v) && v.length === 0)) return t("value.none");
  if (Array.isArray(v)) return v.map((x) => valueText(x, kind)).join(", ");
  if (typeof v === "boolean") return v ? t("value.yes") : t("value.no");
  if (typeof v === "object") return v.name ?? JSON.stringify(v);
  if (kind === "date") return t.date(v);
  if (kind) return t.label(kind, v);
  return String(v);
}

// fieldList renders a victim's fields: each disclosed value, or the reason the API withholds it (from
// the record's own withheld list), never a silent gap. data-field / data-value / data-withheld say what
// was shown, for the browser tests.
export function fieldList(victim, fields) {
  const t = app.t;
  const withheld = new Map((victim.withheld || []).map((w) => [w.field, w]));
  return el("dl", { class: "fields" }, fields.map(([name, kind]) => {
    const w = withheld.get(name);
    const dd = w
      ? el("dd", { "data-field": name, "data-withheld": w.reason, class: "withheld" },
        el("span", { class: "badge" }, t("withheld.label")), " ",
        t(`withheld.${w.reason}`, { category: t.label("category", w.category) }))
      : el("dd", { "data-field": name, "data-value": JSON.stringify(victim[name] ?? null),
        class: victim[name] === null || victim[name] === undefined ? "empty" : null }, valueText(victim[name], kind));
    return [el("dt", {}, t(`field.${name}`)), dd];
  }));
}

// withheldNote marks a withheld list of a record (services, consents, ...) with its reason, or is null.
export function withheldNote(victim, name) {
  const w = (victim.withheld || []).find((x) => x.field === name);
  if (!w) return null;
  return el("p", { class: "withheld", "data-field": name, "data-withheld": w.reason },
    el("span", { class: "badge" }, app.t("withheld.label")), " ",
    app.t(`withheld.${w.reason}`, { category: app.t.label("category", w.category) }));
}

// withheldPaths maps the response paths the API withheld (extensions.withheld, e.g. "referrals[3].reason")
// to why.
export function withheldPaths(extensions) {
  const out = new Map();
  for (const w of extensions?.withheld || []) for (const p of w.paths) out.set(p, w);
  return out;
}

// shownValue renders one value of a victim-owned record that is not a Victim: the value, or, where the API
// withheld it (w from withheldPaths), the mark and the reason.
export function shownValue(v, w, kind) {
  if (w) {
    return el("dd", { class: "withheld", "data-withheld": w.reason }, el("span", { class: "badge" }, app.t("withheld.label")), " ",
      app.t(`withheld.${w.reason}`, { category: app.t.label("category", w.category) }));
  }
  return el("dd", { "data-value": JSON.stringify(v ?? null), class: v === null || v === undefined ? "empty" : null },
    valueText(v, kind));
}

export function heading(text) {
  return el("h1", { tabindex: "-1", id: "page-title" }, text);
}

export function table(caption, columns, rows) {
  return el("div", { class: "scroll", role: "region", "aria-label": caption, tabindex: "0" },
    el("table", {}, el("caption", {}, caption),
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col" }, c)))),
      el("tbody", {}, rows)));
}

// checkboxes renders a group of enum choices as a fieldset.
export function checkboxes(name, legend, kind, values, checked) {
  return el("fieldset", { class: "choices" }, el("legend", {}, legend),
    values.map((v) => el("label", {}, el("input", { type: "checkbox", name, value: v,
      checked: (checked || []).includes(v) }), " ", app.t.label(kind, v))));
}

export function checked(form, name) {
  return Array.from(form.querySelectorAll(`input[name="${name}"]:checked`), (i) => i.value);
}

export function input(id, label, attrs, help) {
  return el("div", { class: "field" }, el("label", { for: id }, label),
    el("input", { id, name: id, "aria-describedby": help ? `${id}-help` : null, ...attrs }),
    help ? el("p", { id: `${id}-help`, class: "help" }, help) : null);
}

export function select(id, label, options, attrs) {
  return el("div", { class: "field" }, el("label", { for: id }, label),
    el("select", { id, name: id, ...attrs }, options.map(([v, text]) => el("option", { value: v }, text))));
}

export function link(route, text, attrs) {
  return el("a", { href: `#/${route}`, ...attrs }, text);
}

// submitting runs an action from a form's submit, with the button disabled and the outcome announced.
export function onSubmit(form, action) {
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    status(app.t("status.working"));
    try {
      await action(form);
    } catch (e) {
      status(errorText(e), "error");
      const bad = e.field && form.querySelector(`[name="${e.field}"]`);
      (bad || form.querySelector("input, select, textarea, button"))?.focus();
    } finally {
      if (button) button.disabled = false;
    }
  });
  return form;
}

// routing --------------------------------------------------------------------------------------------

const ROLES = [["protection_officer", "officer"], ["ngo_caseworker", "ngo"], ["employer_hr", "employer"],
  ["operator", "operator"]];

// go shows route after an action: the action's outcome stays in the status line, where a move of the
// user's own clears it.
export function go(route) {
  if (location.hash === `#/${route}`) render();
  else {
    app.keepStatus = true;
    location.hash = `#/${route}`;
  }
}

async function render() {
  const view = $("view");
  document.body.dataset.ready = "false";
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const [name, ...args] = parts;
  if (!app.module) return;
  const page = app.module.routes[name] || app.module.routes[""];
  document.body.dataset.route = app.module.routes[name] ? name : "";
  try {
    const content = await page(args, app);
    view.replaceChildren(content);
    document.title = `${$("page-title")?.textContent || ""} — ${app.t("app.title")}`;
  } catch (e) {
    view.replaceChildren(el("h1", { tabindex: "-1", id: "page-title" }, app.t("error.title")),
      el("p", { class: "error", role: "alert" }, errorText(e)));
  }
  for (const a of $("nav").querySelectorAll("a")) {
    if (a.getAttribute("href") === `#/${name || ""}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (!render.first) $("page-title")?.focus();
  render.first = false;
  drawn(document.body.dataset.route);
}

// drawn marks the page of route as drawn: the browser tests wait for it.
function drawn(route) {
  document.body.dataset.route = route;
  document.body.dataset.renders = String(Number(document.body.dataset.renders || 0) + 1);
  document.body.dataset.ready = "true";
}

function translateStatic() {
  const t = app.t;
  document.documentElement.lang = t.lang;
  for (const e of document.querySelectorAll("[data-i18n]")) e.textContent = t(e.dataset.i18n);
  $("nav").setAttribute("aria-label", t("nav.label"));
  if (app.viewer) {
    const v = app.viewer;
    $("who").textContent = t("who", { user: v.username, partner: v.partner.name });
  }
}

function signIn(message) {
  const t = app.t;
  $("nav").hidden = true;
  $("signout").hidden = true;
  $("who").textContent = "";
  const form = el("form", { class: "card", "aria-labelledby": "page-title" },
    input("token", t("signin.token"), { type: "password", autocomplete: "off", spellcheck: "false", required: true },
      t("signin.help")),
    el("button", { type: "submit" }, t("signin.submit")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN, form.token.value.trim());
    start();
  });
  $("view").replaceChildren(heading(t("signin.title")), el("p", {}, t("signin.intro")), form);
  status(message || "", message ? "error" : "");
  drawn("signin");
}

async function start() {
  if (!sessionStorage.getItem(TOKEN)) return signIn();
  document.body.dataset.ready = "false";
  let viewer;
  try {
    ({ data: { viewer } } = await gql("{ viewer { username partnerType roles partner { name slug } } }"));
  } catch (e) {
    sessionStorage.removeItem(TOKEN);
    return signIn(errorText(e));
  }
  app.viewer = viewer;
  const role = ROLES.find(([r]) => viewer.roles.includes(r));
  if (!role) {
    $("view").replaceChildren(heading(app.t("norole.title")), el("p", {}, app.t("norole.text")),
      el("p", {}, el("a", { href: "../dashboard/" }, app.t("norole.dashboard"))));
    $("signout").hidden = false;
    translateStatic();
    drawn("norole");
    return;
  }
  app.module = await import(`./${role[1]}.js`);
  document.body.dataset.role = role[1];
  $("signout").hidden = false;
  drawNav();
  translateStatic();
  status("");
  render.first = true;
  await render();
}

function drawNav() {
  const nav = $("nav");
  nav.replaceChildren(el("ul", {}, app.module.nav.map(([route, key]) => el("li", {}, link(route, app.t(key))))));
  nav.hidden = false;
}

async function setLanguage(code) {
  app.t = await translator(code);
  sessionStorage.setItem(LANG, code);
  translateStatic();
}

async function main() {
  // A token in the fragment is taken and removed from the address bar at once.
  const m = location.hash.match(/^#token=([^&]+)/);
  if (m) {
    sessionStorage.setItem(TOKEN, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search + "#/");
  }
  app.langs = await languages();
  const known = app.langs.map((l) => l.code);
  const wanted = [sessionStorage.getItem(LANG), ...navigator.languages.map((l) => l.slice(0, 2))]
    .find((c) => c && known.includes(c)) || "en";
  const sel = $("lang");
  sel.replaceChildren(...app.langs.map((l) => el("option", { value: l.code, lang: l.code }, l.name)));
  sel.value = wanted;
  await setLanguage(wanted);
  sel.addEventListener("change", async () => {
    await setLanguage(sel.value);
    if (app.module) { drawNav(); await render(); } else if (!sessionStorage.getItem(TOKEN)) signIn();
  });
  $("signout").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN);
    app.viewer = null;
    app.module = null;
    history.replaceState(null, "", location.pathname + location.search);
    signIn();
  });
  // Only "#/..." is a route: the skip link's "#main" is not.
  window.addEventListener("hashchange", () => {
    if (!location.hash.startsWith("#/")) return;
    if (!app.keepStatus) status("");
    app.keepStatus = false;
    render();
  });
  await start();
}

main();
