-- Lindung's records. Enumerations are PostgreSQL enums whose labels are the GraphQL enum values, so a value
-- the schema does not know can never be stored. Ids are random UUIDs: sequential ids would leak case counts.

CREATE TYPE partner_type AS ENUM ('GOVERNMENT', 'NGO', 'PRIVATE', 'OPERATOR');
CREATE TYPE malaysian_state AS ENUM ('JOHOR', 'KEDAH', 'KELANTAN', 'MELAKA', 'NEGERI_SEMBILAN', 'PAHANG',
    'PERAK', 'PERLIS', 'PULAU_PINANG', 'SABAH', 'SARAWAK', 'SELANGOR', 'TERENGGANU', 'KUALA_LUMPUR', 'LABUAN',
    'PUTRAJAYA');
CREATE TYPE data_category AS ENUM ('IDENTITY', 'CONTACT', 'DEMOGRAPHIC', 'CASE', 'LOCATION', 'HEALTH',
    'COUNSELLING', 'LEGAL', 'FAMILY', 'EMPLOYMENT');
CREATE TYPE purpose AS ENUM ('CASE_MANAGEMENT', 'SERVICE_DELIVERY', 'PROSECUTION', 'EMPLOYMENT_CHECK',
    'STATISTICS', 'FAMILY_CONTACT');
CREATE TYPE gender AS ENUM ('FEMALE', 'MALE', 'OTHER');
CREATE TYPE age_band AS ENUM ('AGE_0_8', 'AGE_9_17', 'AGE_18_20', 'AGE_21_23', 'AGE_24_26', 'AGE_27_29',
    'AGE_30_38', 'AGE_39_47', 'AGE_48_PLUS');
CREATE TYPE trafficking_status AS ENUM ('PRESUMED', 'CONFIRMED', 'NOT_A_VICTIM');
CREATE TYPE exploitation_type AS ENUM ('FORCED_LABOUR', 'SEXUAL_EXPLOITATION', 'SEX_AND_LABOUR',
    'FORCED_MARRIAGE', 'OTHER');
CREATE TYPE sector AS ENUM ('PLANTATION', 'CONSTRUCTION', 'MANUFACTURING', 'DOMESTIC_WORK', 'FISHING',
    'HOSPITALITY', 'AGRICULTURE', 'OTHER');
CREATE TYPE means_of_control AS ENUM ('DEBT_BONDAGE', 'TAKES_EARNINGS', 'THREATS', 'PHYSICAL_ABUSE',
    'PSYCHOLOGICAL_ABUSE', 'SEXUAL_ABUSE', 'FALSE_PROMISES', 'RESTRICTS_MOVEMENT', 'WITHHOLDS_DOCUMENTS',
    'EXCESSIVE_HOURS', 'OTHER');
CREATE TYPE shelter_category AS ENUM ('WOMEN', 'MEN', 'CHILDREN', 'MOTHERS_WITH_CHILDREN');
CREATE TYPE order_type AS ENUM ('IPO', 'PO');
CREATE TYPE service_code AS ENUM ('HEALTH', 'COUNSELLING', 'LEGAL', 'INTERPRETER', 'FAMILY_COMMUNICATION',
    'WORK_PERMISSION', 'REPATRIATION');
CREATE TYPE service_status AS ENUM ('REQUESTED', 'SCHEDULED', 'DELIVERED', 'CANCELLED');
CREATE TYPE referral_status AS ENUM ('IN_PROGRESS', 'ACCEPTED', 'REJECTED', 'COMPLETED', 'WITHDRAWN');
CREATE TYPE consent_method AS ENUM ('VERBAL', 'WRITTEN');
CREATE TYPE grantor_relation AS ENUM ('SELF', 'MOTHER');
CREATE TYPE eligibility_decision AS ENUM ('PENDING', 'ELIGIBLE', 'NOT_ELIGIBLE');
CREATE TYPE case_link_role AS ENUM ('INVESTIGATING', 'PROSECUTING', 'IMMIGRATION');
CREATE TYPE family_relationship AS ENUM ('MOTHER', 'CHILD');

-- category_bits turns a list of categories into the bit mask lindung.CategorySet uses (bit = enum position).
CREATE FUNCTION category_bits(cs data_category[]) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(bit_or(1 << (CASE c
        WHEN 'IDENTITY' THEN 0 WHEN 'CONTACT' THEN 1 WHEN 'DEMOGRAPHIC' THEN 2 WHEN 'CASE' THEN 3
        WHEN 'LOCATION' THEN 4 WHEN 'HEALTH' THEN 5 WHEN 'COUNSELLING' THEN 6 WHEN 'LEGAL' THEN 7
        WHEN 'FAMILY' THEN 8 WHEN 'EMPLOYMENT' THEN 9 END)), 0)
    FROM unnest(cs) AS c
$$;

CREATE TABLE partners (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    type        partner_type NOT NULL,
    state       malaysian_state NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    partner_id   uuid NOT NULL REFERENCES partners (id),
    username     text NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 200),
    display_name text NOT NULL DEFAULT '',
    roles        text[] NOT NULL CHECK (cardinality(roles) > 0),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_partner ON users (partner_id);

CREATE TABLE training_completions (
    user_id        uuid NOT NULL REFERENCES users (id),
    module_version text NOT NULL,
    completed_on   date NOT NULL,
    expires_on     date CHECK (expires_on IS NULL OR expires_on > completed_on),
    PRIMARY KEY (user_id, module_version)
);

CREATE TABLE shelters (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    operator_partner_id uuid NOT NULL REFERENCES partners (id),
    state               malaysian_state NOT NULL,
    category            shelter_category NOT NULL,
    order_type          order_type NOT NULL,
    capacity            integer NOT NULL CHECK (capacity > 0),
    services            service_code[] NOT NULL DEFAULT '{}'
);

CREATE TABLE victims (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    case_ref           text NOT NULL UNIQUE CHECK (case_ref ~ '^[A-Z]{2,5}-[0-9]{4}-[0-9]{6}$'),
    owner_partner_id   uuid NOT NULL REFERENCES partners (id),
    legal_name         text CHECK (length(legal_name) BETWEEN 1 AND 200),
    aliases            text[] NOT NULL DEFAULT '{}',
    date_of_birth      date CHECK (date_of_birth > '1900-01-01'),
    age_band           age_band,
    gender             gender,
    citizenship        text[] NOT NULL DEFAULT '{}' CHECK (array_to_string(citizenship, ',') ~ '^([A-Z]{3}(,[A-Z]{3})*)?$'),
    languages          text[] NOT NULL DEFAULT '{}',
    interpreter_needed boolean NOT NULL DEFAULT false,
    phone              text CHECK (length(phone) BETWEEN 3 AND 40),
    trafficking_status trafficking_status NOT NULL DEFAULT 'PRESUMED',
    exploitation_types exploitation_type[] NOT NULL DEFAULT '{}',
    sector             sector,
    means_of_control   means_of_control[] NOT NULL DEFAULT '{}',
    identified_on      date NOT NULL DEFAULT current_date,
    medical_needs      text,
    counselling_notes  text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX victims_owner ON victims (owner_partner_id, id);

CREATE TABLE case_links (
    victim_id  uuid NOT NULL REFERENCES victims (id),
    partner_id uuid NOT NULL REFERENCES partners (id),
    role       case_link_role NOT NULL,
    PRIMARY KEY (victim_id, partner_id)
);
CREATE INDEX case_links_partner ON case_links (partner_id, victim_id);

-- A family link is stored once, from the child: related_victim_id is the child's mother.
CREATE TABLE family_links (
    victim_id         uuid NOT NULL REFERENCES victims (id),
    related_victim_id uuid NOT NULL REFERENCES victims (id),
    relationship      family_relationship NOT NULL CHECK (relationship = 'MOTHER'),
    PRIMARY KEY (victim_id, related_victim_id),
    CHECK (victim_id <> related_victim_id)
);
CREATE INDEX family_links_related ON family_links (related_victim_id);

CREATE TABLE protection_orders (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    victim_id    uuid NOT NULL REFERENCES victims (id),
    type         order_type NOT NULL,
    court        text NOT NULL,
    order_number text NOT NULL UNIQUE,
    starts_on    date NOT NULL,
    ends_on      date NOT NULL CHECK (ends_on > starts_on),
    ended_on     date CHECK (ended_on IS NULL OR ended_on >= starts_on),
    conditions   text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX protection_orders_victim ON protection_orders (victim_id);

CREATE TABLE placements (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    victim_id  uuid NOT NULL REFERENCES victims (id),
    shelter_id uuid NOT NULL REFERENCES shelters (id),
    from_date  date NOT NULL,
    to_date    date CHECK (to_date IS NULL OR to_date >= from_date),
    reason     text NOT NULL DEFAULT ''
);
CREATE INDEX placements_victim ON placements (victim_id);
CREATE INDEX placements_shelter_current ON placements (shelter_id) WHERE to_date IS NULL;
-- A victim is in at most one shelter at a time.
CREATE UNIQUE INDEX placements_one_current ON placements (victim_id) WHERE to_date IS NULL;

CREATE TABLE services (
    code        service_code PRIMARY KEY,
    name        text NOT NULL,
    description text NOT NULL
);
INSERT INTO services (code, name, description) VALUES
    ('HEALTH', 'Health and treatment', 'Medical screening, treatment and follow-up.'),
    ('COUNSELLING', 'Counselling', 'Psychosocial support and trauma-informed counselling.'),
    ('LEGAL', 'Legal and court support', 'Legal advice and accompaniment to court.'),
    ('INTERPRETER', 'Interpreter', 'Interpretation in the victim''s language.'),
    ('FAMILY_COMMUNICATION', 'Family communication', 'Calls and visits with family members.'),
    ('WORK_PERMISSION', 'Work permission', 'Assessment and support towards permission to work.'),
    ('REPATRIATION', 'Repatriation', 'Safe return to the country of origin.');

CREATE TABLE service_records (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    victim_id           uuid NOT NULL REFERENCES victims (id),
    service_code        service_code NOT NULL REFERENCES services (code),
    provider_partner_id uuid NOT NULL REFERENCES partners (id),
    status              service_status NOT NULL,
    requested_on        date NOT NULL,
    scheduled_for       date,
    delivered_on        date CHECK (delivered_on IS NULL OR delivered_on >= requested_on),
    CHECK (status <> 'DELIVERED' OR delivered_on IS NOT NULL)
);
CREATE INDEX service_records_victim ON service_records (victim_id);

CREATE TABLE referrals (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    victim_id        uuid NOT NULL REFERENCES victims (id),
    from_partner_id  uuid NOT NULL REFERENCES partners (id),
    to_partner_id    uuid NOT NULL REFERENCES partners (id),
    service_code     service_code NOT NULL REFERENCES services (code),
    categories       data_category[] NOT NULL CHECK (cardinality(categories) > 0),
    category_bits    integer GENERATED ALWAYS AS (category_bits(categories)) STORED,
    status           referral_status NOT NULL DEFAULT 'IN_PROGRESS',
    reason           text NOT NULL DEFAULT '',
    rejection_reason text CHECK ((status = 'REJECTED') = (rejection_reason IS NOT NULL)),
    due_on           date NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (from_partner_id <> to_partner_id)
);
CREATE INDEX referrals_victim ON referrals (victim_id);
CREATE INDEX referrals_to_open ON referrals (to_partner_id, victim_id) WHERE status = 'ACCEPTED';
CREATE INDEX referrals_from ON referrals (from_partner_id);

CREATE TABLE consents (
    id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    victim_id              uuid NOT NULL REFERENCES victims (id),
    grantor_victim_id      uuid NOT NULL REFERENCES victims (id),
    grantor_relation       grantor_relation NOT NULL,
    recorded_by_user_id    uuid NOT NULL REFERENCES users (id),
    recorded_at            timestamptz NOT NULL DEFAULT now(),
    language               text NOT NULL,
    interpreter_partner_id uuid REFERENCES partners (id),
    method                 consent_method NOT NULL,
    document_ref           text,
    withdrawn_at           timestamptz CHECK (withdrawn_at IS NULL OR withdrawn_at >= recorded_at),
    CHECK ((grantor_relation = 'SELF') = (grantor_victim_id = victim_id)),
    CHECK (method <> 'WRITTEN' OR document_ref IS NOT NULL)
);
CREATE INDEX consents_victim ON consents (victim_id);

CREATE TABLE consent_provisions (
    consent_id         uuid NOT NULL REFERENCES consents (id),
    position           integer NOT NULL,
    grantee_partner_id uuid REFERENCES partners (id),
    grantee_type       partner_type,
    categories         data_category[] NOT NULL CHECK (cardinality(categories) > 0),
    category_bits      integer GENERATED ALWAYS AS (category_bits(categories)) STORED,
    purposes           purpose[] NOT NULL CHECK (cardinality(purposes) > 0),
    period_start       timestamptz NOT NULL,
    period_end         timestamptz CHECK (period_end IS NULL OR period_end > period_start),
    PRIMARY KEY (consent_id, position),
    CHECK ((grantee_partner_id IS NULL) <> (grantee_type IS NULL))
);

CREATE TABLE work_eligibility (
    victim_id                uuid PRIMARY KEY REFERENCES victims (id),
    protection_order_held    boolean NOT NULL,
    medical_screening_passed boolean NOT NULL,
    risk_assessment_passed   boolean NOT NULL,
    decision                 eligibility_decision NOT NULL,
    decided_on               date,
    valid_until              date,
    CHECK (decision <> 'ELIGIBLE' OR (protection_order_held AND medical_screening_passed
        AND risk_assessment_passed AND valid_until IS NOT NULL))
);

-- The audit. One row per victim disclosed in one response; append-only (see 002).
CREATE TABLE access_records (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT now(),
    request_id     text NOT NULL,
    user_id        uuid,
    username       text NOT NULL,
    partner_id     uuid NOT NULL REFERENCES partners (id),
    roles          text[] NOT NULL,
    purpose        purpose NOT NULL,
    victim_id      uuid NOT NULL REFERENCES victims (id),
    disclosed      data_category[] NOT NULL,
    withheld       data_category[] NOT NULL,
    policy_version text NOT NULL,
    operation_name text NOT NULL DEFAULT ''
);
CREATE INDEX access_records_victim ON access_records (victim_id, at);
