// Package promptflow converts prompt flow's DAG flows (a folder with a
// flow.dag.yaml, its Jinja templates and Python tools) into weir flow
// folders with the same meaning: `weir import promptflow`.
//
// Import reads the folder and returns the files of the weir flow, or every
// reason the flow cannot be converted; Write puts them on disk. The same
// input gives the same bytes. How prompt flow's flows behave is described
// in the repository's notes on prompt flow (SPEC.md §1–§8); the comments
// here cite its sections.
package promptflow
