-- The hub's connections plan every prepared statement generically (postgres.Open: plan_cache_mode =
-- force_generic_plan), which the request statements gain from. The statements inside these two statistics
-- functions lose by it: a generic plan cannot fold their NULL-or-equal filters and the basis bits away,
-- and at 100,000 victims the orders panel took 2.3× and the services panel 1.7× the hand-written SQL
-- (bench BenchmarkStatistics100k), against 0.95× and 1.3× with plans made for each call's values. The
-- functions choose that themselves, whatever the connection says.
ALTER FUNCTION statistics_orders(integer, integer, integer, integer, malaysian_state) SET plan_cache_mode = auto;
ALTER FUNCTION statistics_services(integer, integer, integer, date, date, malaysian_state) SET plan_cache_mode = auto;
