// Package bench holds Lindung's benchmarks. Every figure is a ratio of variants run side by side in one
// process on the same data, never an absolute time: the machines are small and shared, and absolute times
// wander from run to run. See docs/development.md, "Benchmarks", for the command and the latest ratios.
package bench
