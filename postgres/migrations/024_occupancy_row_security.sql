-- The occupancy views run with their owner's rights, so that every current resident counts whoever asks
-- (002, 003, 012), and so they stepped around the shelters' row security (023): a stray query of a
-- private-sector partner's request could still list shelter ids with their residents, and each state's
-- shelters, capacity and residents. They now refuse a private-sector partner as the shelters do. A
-- transaction with no partner still reads them (a database administrator, the hand-written baselines of
-- bench/): the hub's requests always name their partner, and the rest of its work reads no occupancy.
CREATE OR REPLACE VIEW shelter_occupancy AS
    SELECT s.id AS shelter_id,
        (SELECT count(*) FROM placements p WHERE p.shelter_id = s.id AND p.to_date IS NULL)::integer AS occupancy
    FROM shelters s
    WHERE (SELECT type FROM caller_partner) IS DISTINCT FROM 'PRIVATE';

CREATE OR REPLACE VIEW state_occupancy AS
    SELECT s.state, count(DISTINCT s.id)::integer AS shelters, sum(s.capacity)::integer AS capacity,
        coalesce(sum(o.occupancy), 0)::integer AS occupancy
    FROM shelters s LEFT JOIN shelter_occupancy o ON o.shelter_id = s.id
    WHERE (SELECT type FROM caller_partner) IS DISTINCT FROM 'PRIVATE'
    GROUP BY s.state;
