-- viewer_bits (migration 012) gives each victim two masks for the viewer: the categories its consent grants,
-- and the categories of its accepted referrals to the viewer's partner. Only a role limited to its referrals
-- (the NGO caseworker: policy.Decision.LimitToReferral) uses the second; for every other role the probe of
-- referrals behind it, under that table's row security, was about a fifth of the page statement's time
-- (pgbench, a page of 100: 2.38 ms with it, 1.86 ms without). viewer_consent_bits is the first mask alone,
-- from the same rule (grants_in_force), with the referral mask 0, which the field guard reads only for a
-- role limited to its referrals. The store joins it for every other role (postgres/rows.go).
CREATE FUNCTION viewer_consent_bits(grants consent_grant[], victim uuid, for_purpose purpose, for_partner uuid, for_type partner_type)
RETURNS TABLE (consented integer, referred integer)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(bit_or(g.category_bits), 0), 0
    FROM grants_in_force(grants, for_purpose, for_partner, for_type) g
$$;
REVOKE ALL ON FUNCTION viewer_consent_bits(consent_grant[], uuid, purpose, uuid, partner_type) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION viewer_consent_bits(consent_grant[], uuid, purpose, uuid, partner_type) TO lindung_app;
