-- Retention (lindung retention): a case whose personal data was erased keeps its row, pseudonymous
-- reference and statistical fields, so that the append-only audit that names it stays whole and the
-- victim's disclosure report can still be read. erased_at says when, and keeps a second run from erasing
-- it again.
ALTER TABLE victims ADD COLUMN erased_at timestamptz;
