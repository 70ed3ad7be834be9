package main

import "testing"

// TestGraph draws the examples: inputs, nodes with their tools, outputs,
// and a legend of the shapes each drawing uses.
func TestGraph(t *testing.T) {
	t.Parallel()
	const dot = `digraph "pipeline" {
  rankdir=LR;
  node [shape=box];
  subgraph cluster_inputs {
    label="inputs";
    "inputs.title" [label="title", shape=ellipse];
    "inputs.text" [label="text", shape=ellipse];
    "inputs.mode" [label="mode", shape=ellipse];
  }
  "headline" [label="headline\nbuiltin.template"];
  "inputs.title" -> "headline";
  "body" [label="body\nbuiltin.template"];
  "inputs.text" -> "body";
  "wait" [label="wait\nbuiltin.sleep"];
  "inputs.mode" -> "wait";
  "details" [label="details\nbuiltin.json", style=dashed];
  "inputs.mode" -> "details";
  "body" -> "details";
  "wait" -> "details";
  "page" [label="page\nformat.cue", peripheries=2];
  "headline" -> "page";
  "body" -> "page";
  "details" -> "page";
  subgraph cluster_outputs {
    label="outputs";
    "outputs.page" [label="page", shape=ellipse];
    "outputs.details" [label="details", shape=ellipse];
  }
  "page" -> "outputs.page";
  "details" -> "outputs.details";
  subgraph cluster_legend {
    label="legend";
    style=dotted;
    "legend.io" [label="input or output", shape=ellipse];
    "legend.tool" [label="tool node", shape=box];
    "legend.flow" [label="sub-flow node", shape=box, peripheries=2];
    "legend.when" [label="may be bypassed (when)", shape=box, style=dashed];
  }
}
`
	runCases(t, []commandCase{
		{name: "dot by default", args: []string{"graph", pipeline}, stdout: dot},
		{name: "dot", args: []string{"graph", "--format", "dot", pipeline}, stdout: dot},
		{name: "a folder", args: []string{"graph", "../../examples/pipeline"}, stdout: dot},
		{
			name: "mermaid",
			args: []string{"graph", "--format=mermaid", pipeline},
			stdout: `flowchart LR
  classDef when stroke-dasharray: 5 5
  subgraph inputs
    in_title(["title"])
    in_text(["text"])
    in_mode(["mode"])
  end
  n_headline["headline<br/>builtin.template"]
  in_title --> n_headline
  n_body["body<br/>builtin.template"]
  in_text --> n_body
  n_wait["wait<br/>builtin.sleep"]
  in_mode --> n_wait
  n_details["details<br/>builtin.json"]
  class n_details when
  in_mode --> n_details
  n_body --> n_details
  n_wait --> n_details
  n_page[["page<br/>format.cue"]]
  n_headline --> n_page
  n_body --> n_page
  n_details --> n_page
  subgraph outputs
    out_page(["page"])
    out_details(["details"])
  end
  n_page --> out_page
  n_details --> out_details
  subgraph legend
    legend_io(["input or output"])
    legend_tool["tool node"]
    legend_flow[["sub-flow node"]]
    legend_when["may be bypassed (when)"]
    class legend_when when
  end
`,
		},
		{
			name: "hello",
			args: []string{"graph", hello},
			stdout: `digraph "hello" {
  rankdir=LR;
  node [shape=box];
  subgraph cluster_inputs {
    label="inputs";
    "inputs.name" [label="name", shape=ellipse];
    "inputs.loud" [label="loud", shape=ellipse];
  }
  "greet" [label="greet\ntext.greet"];
  "inputs.name" -> "greet";
  "shout" [label="shout\ntext.upper", style=dashed];
  "inputs.loud" -> "shout";
  "greet" -> "shout";
  subgraph cluster_outputs {
    label="outputs";
    "outputs.message" [label="message", shape=ellipse];
    "outputs.shouted" [label="shouted", shape=ellipse];
  }
  "greet" -> "outputs.message";
  "shout" -> "outputs.shouted";
  subgraph cluster_legend {
    label="legend";
    style=dotted;
    "legend.io" [label="input or output", shape=ellipse];
    "legend.tool" [label="tool node", shape=box];
    "legend.when" [label="may be bypassed (when)", shape=box, style=dashed];
  }
}
`,
		},
		{
			// An aggregate node, and no sub-flow or when in the legend.
			name: "aggregate",
			args: []string{"graph", "testdata/scores.cue"},
			stdout: `digraph "scores" {
  rankdir=LR;
  node [shape=box];
  subgraph cluster_inputs {
    label="inputs";
    "inputs.name" [label="name", shape=ellipse];
    "inputs.score" [label="score", shape=ellipse];
    "inputs.wait" [label="wait", shape=ellipse];
  }
  "nap" [label="nap\nbuiltin.sleep"];
  "inputs.wait" -> "nap";
  "inputs.score" -> "nap";
  "greet" [label="greet\nbuiltin.template"];
  "inputs.name" -> "greet";
  "mean" [label="mean\nbuiltin.stats", shape=parallelogram];
  "nap" -> "mean";
  subgraph cluster_outputs {
    label="outputs";
    "outputs.greeting" [label="greeting", shape=ellipse];
    "outputs.score" [label="score", shape=ellipse];
  }
  "greet" -> "outputs.greeting";
  "nap" -> "outputs.score";
  subgraph cluster_legend {
    label="legend";
    style=dotted;
    "legend.io" [label="input or output", shape=ellipse];
    "legend.tool" [label="tool node", shape=box];
    "legend.aggregate" [label="aggregate node", shape=parallelogram];
  }
}
`,
		},
		{
			name: "aggregate in mermaid",
			args: []string{"graph", "--format", "mermaid", "testdata/scores.cue"},
			stdout: `flowchart LR
  classDef when stroke-dasharray: 5 5
  subgraph inputs
    in_name(["name"])
    in_score(["score"])
    in_wait(["wait"])
  end
  n_nap["nap<br/>builtin.sleep"]
  in_wait --> n_nap
  in_score --> n_nap
  n_greet["greet<br/>builtin.template"]
  in_name --> n_greet
  n_mean[/"mean<br/>builtin.stats"/]
  n_nap --> n_mean
  subgraph outputs
    out_greeting(["greeting"])
    out_score(["score"])
  end
  n_greet --> out_greeting
  n_nap --> out_score
  subgraph legend
    legend_io(["input or output"])
    legend_tool["tool node"]
    legend_aggregate[/"aggregate node"/]
  end
`,
		},
		{
			name:   "bad format",
			args:   []string{"graph", "--format", "svg", pipeline},
			code:   2,
			stderr: `weir: --format must be dot or mermaid, not "svg"` + "\n" + usage("graph"),
		},
	})
}
