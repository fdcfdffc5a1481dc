-- Registering a victim failed under 002's policy: a policy without WITH CHECK uses its USING expression
-- for new rows, and victim_visible(id) looks the new row up in victims as of the statement's start, where
-- it does not exist yet, so every INSERT (and INSERT ... RETURNING) was refused. For the partner scope
-- the rule is about the row itself, so it is written on the row's own column; the other scopes still ask
-- victim_visible, which for a row that does not exist yet answers no: only the owning agency registers.
-- On UPDATE the same expression checks the new row, so a case cannot be moved to another owner either.
DROP POLICY scope ON victims;
CREATE POLICY scope ON victims
    USING (CASE lindung_setting('lindung.scope')
        WHEN 'partner' THEN owner_partner_id = lindung_setting('lindung.partner_id')::uuid
        ELSE victim_visible(id)
    END);
