// Package reliability holds the hub's tests of faults and load, run in CI and bounded in time: PostgreSQL
// restarted under load (on a private PostgreSQL instance the tests start, never the machine's shared
// cluster), pool exhaustion, the audit under concurrent load, a short soak, and backup and restore. It has
// no code of its own outside its tests.
package reliability
