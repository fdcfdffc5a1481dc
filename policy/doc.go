// Package policy decides what each caller may see: which victims' rows (a row scope) and, per victim,
// which data categories (a bit mask). It holds the rules as code — a Casbin model and policy, embedded in
// the binary and overridable from a directory — and compiles them into immutable Decisions. It never
// queries a database: consent and referrals are data, read by the store with each victim and handed to
// Decision.Mask as bit sets.
//
// Decide once. Casbin answers questions of the form role × data category × purpose → basis, where the
// basis is one of:
//
//	Deny     never disclosed for this purpose, whatever the victim consented to
//	Legal    disclosed on a legal basis (the role's task cannot be done without it)
//	Consent  disclosed only where the victim's active consent covers it
//
// Precedence is deny over legal over consent, and a category with no rule is denied. A user may hold
// several roles; the same precedence applies across them, and a deny of any role held applies under every
// purpose, so an additional role can never lift a deny. Grants and actions come only from the roles that
// may declare the request's purpose. Separation of duties: the policy names pairs of roles no user may
// hold together (the operator or the router with any case role); Decide refuses them, Decision.Assignable
// refuses to register them, and Check fails a policy under which such a pair would see any victim data.
//
// The answers for one (sorted roles, purpose, policy version) are compiled once into a Decision and cached
// for the life of the Policy, so a request costs one map lookup however many rows and fields it returns,
// and guarding a field is a bit test on Decision.Mask.
//
// The default policy is victim-centric and minimum necessary:
//
//   - protection_officer (scope partner, current training required): the whole case file for
//     CASE_MANAGEMENT, except health and counselling, which need consent; narrower sets for
//     SERVICE_DELIVERY and FAMILY_CONTACT.
//   - enforcement_officer (scope linked): case, legal and demographic detail for PROSECUTION; identity,
//     contact and location only with consent; health, counselling, family and employment never.
//   - ngo_caseworker (scope referred, limited to what its referrals ask for): case and demographics,
//     everything else only with consent; legal and employment never.
//   - ministry_analyst (scope none): demographics and case facts as dimensions of STATISTICS only.
//   - employer_hr (scope none): work eligibility under EMPLOYMENT_CHECK, only with consent.
//   - operator (scope none): nothing.
//
// The reasons for each rule are written next to it in policy.csv; protection_officer and ngo_caseworker
// share the base role caseworker_base, the minimum anyone delivering services needs.
//
// Changes are reviewed by what they do. Assertions (assertions.yaml, checked by `lindung policy test`)
// pin the decisions the policy must make, and name the row of policy.csv that decided any it breaks
// (Policy.ExplainBasis and its kin); Diff lists, for whom, what changes between two policies; View is the
// effective policy both are written against.
package policy
