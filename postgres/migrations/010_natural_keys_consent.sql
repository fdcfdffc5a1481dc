-- Natural keys that tell no one about other agencies' cases, and consent that stays the victim's
-- (docs/access.md, "Natural keys" and "Consent").

-- Case references and court order numbers are unique per owning agency, not across the hub. A hub-wide
-- unique key answered CONFLICT for another agency's reference and nothing for an unknown one, and an
-- insert that fails leaves no trace: it enumerated other agencies' cases. Per agency, a conflict names
-- only a case the agency owns and sees anyway. Agencies issue their own references (the prefix is the
-- agency's), so the hub never needed them unique across agencies. Dropping the hub-wide index also
-- makes a lookup by reference alone find its rows through the caller's scope: a foreign row is never
-- reached, so it costs what a missing one costs.
ALTER TABLE victims DROP CONSTRAINT victims_case_ref_key;
ALTER TABLE victims ADD CONSTRAINT victims_case_ref_key UNIQUE (owner_partner_id, case_ref);

-- An order carries its victim's owning agency, kept by the database from the victim, so that order
-- numbers can be unique per agency too.
ALTER TABLE protection_orders ADD COLUMN owner_partner_id uuid REFERENCES partners (id);
UPDATE protection_orders o SET owner_partner_id = v.owner_partner_id FROM victims v WHERE v.id = o.victim_id;
ALTER TABLE protection_orders ALTER COLUMN owner_partner_id SET NOT NULL;
ALTER TABLE protection_orders DROP CONSTRAINT protection_orders_order_number_key;
ALTER TABLE protection_orders ADD CONSTRAINT protection_orders_order_number_key UNIQUE (owner_partner_id, order_number);

-- protection_orders_owner sets an order's agency from its victim, whatever the writer said. It runs with
-- the owner's rights so that the victim's row is read whatever the writer's scope; a victim the writer
-- may not see cannot be written to anyway (row-level security on protection_orders).
CREATE FUNCTION protection_orders_owner() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    NEW.owner_partner_id := (SELECT v.owner_partner_id FROM victims v WHERE v.id = NEW.victim_id);
    RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION protection_orders_owner() FROM PUBLIC;
CREATE TRIGGER owner BEFORE INSERT OR UPDATE OF victim_id, owner_partner_id ON protection_orders
    FOR EACH ROW EXECUTE FUNCTION protection_orders_owner();

-- victims_by_case_ref returns the ids of the victims in the transaction's row scope that carry one of the
-- references, with the same work for a reference that names a foreign case as for one that names none.
-- Row-level security runs its scope check only for a row that a lookup found, so a lookup through it took
-- measurably longer for another agency's case than for a missing one. Here every reference is looked up
-- once (an index-only probe), and every candidate is checked against the scope by one more index probe,
-- a missing reference's empty candidate (the nil id) included; the steps are procedural so that the
-- planner cannot skip the check where nothing was found. SECURITY DEFINER reads the links and referrals
-- directly, by the scope rules of the victims policy (002); callers join the ids back to victims under
-- row-level security. PL/pgSQL, so that its plans are kept for the connection.
CREATE INDEX victims_case_ref ON victims (case_ref) INCLUDE (id);
CREATE FUNCTION victims_by_case_ref(refs text[]) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 1 AS $$
DECLARE
    scope text := lindung_setting('lindung.scope');
    me uuid := lindung_setting('lindung.partner_id')::uuid;
    ref text;
    candidate uuid;
    candidates uuid[];
    visible boolean;
BEGIN
    FOREACH ref IN ARRAY coalesce(refs, '{}') LOOP
        candidates := ARRAY(SELECT v.id FROM victims v WHERE v.case_ref = ref);
        IF cardinality(candidates) = 0 THEN
            candidates := ARRAY['00000000-0000-0000-0000-000000000000'::uuid];
        END IF;
        FOREACH candidate IN ARRAY candidates LOOP
            visible := CASE scope
                WHEN 'partner' THEN EXISTS (SELECT 1 FROM victims v
                    WHERE v.owner_partner_id = me AND v.id = candidate)
                WHEN 'linked' THEN EXISTS (SELECT 1 FROM case_links l
                    WHERE l.victim_id = candidate AND l.partner_id = me)
                WHEN 'referred' THEN EXISTS (SELECT 1 FROM referrals r
                    WHERE r.to_partner_id = me AND r.victim_id = candidate AND r.status = 'ACCEPTED')
                ELSE false END;
            IF visible THEN
                RETURN NEXT candidate;
            END IF;
        END LOOP;
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION victims_by_case_ref(text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION victims_by_case_ref(text[]) TO lindung_app;
