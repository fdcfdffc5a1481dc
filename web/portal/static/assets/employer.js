// The employer's one page: an eligibility code in, "may work until DATE" or "not eligible" out, and
// nothing else. The hub limits how fast an employer may check codes; a refusal is shown as a message.
import { el, gql, heading, input, onSubmit, status, $ } from "./portal.js";

export const nav = [["", "nav.check"]];

async function check(_, { t }) {
  const result = el("div", { id: "result", "aria-live": "polite" });
  const form = onSubmit(el("form", { class: "card", "aria-labelledby": "page-title" },
    input("code", t("employer.code"), { required: true, autocomplete: "off", spellcheck: "false",
      autocapitalize: "characters", inputmode: "text", maxlength: "32" }, t("employer.help")),
    el("button", { type: "submit" }, t("employer.submit"))), async (f) => {
    result.replaceChildren();
    try {
      const { data } = await gql("query($code: String!) { workPermitEligibility(code: $code) { eligible validUntil } }",
        { code: f.code.value.trim() });
      const p = data.workPermitEligibility;
      result.replaceChildren(p.eligible
        ? el("p", { class: "verdict ok", "data-eligible": "true", "data-valid-until": p.validUntil },
          t("employer.eligible", { date: t.date(p.validUntil) }))
        : el("p", { class: "verdict no", "data-eligible": "false" }, t("employer.notEligible")));
      status("");
    } catch (e) {
      if (e.code !== "RATE_LIMITED") throw e;
      result.replaceChildren(el("p", { class: "verdict wait", "data-rate-limited": "true", role: "alert" },
        t("employer.rateLimited", { seconds: e.retryAfter || 1 })));
      status("");
    }
    $("code").select();
  });
  return el("div", {}, heading(t("employer.title")), el("p", {}, t("employer.intro")), form, result);
}

export const routes = { "": check };
