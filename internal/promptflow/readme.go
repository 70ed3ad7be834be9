package promptflow

import (
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// readme writes README.md: what became of each part of the flow, what to
// set before running it, and the commands. The flow's own README, if any,
// is kept as README.promptflow.md.
func (c *converter) readme() []byte {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	if old, ok := c.files["README.md"]; ok {
		delete(c.files, "README.md")
		c.out.Files["README.promptflow.md"] = old
	}
	p("# %s\n\n", c.out.Name)
	p("This weir flow was converted from a prompt flow DAG flow by `weir import promptflow`.\n")
	p("`flow.cue` is the flow; the templates and Python tools are the original files")
	if _, ok := c.out.Files["README.promptflow.md"]; ok {
		p(", and the flow's own README is `README.promptflow.md`")
	}
	p(".\n\n## Nodes\n\n| node | prompt flow | weir tool | note |\n| --- | --- | --- | --- |\n")
	for _, row := range c.table {
		p("| %s | %s | `%s` | %s |\n", row[0], row[1], row[2], row[3])
	}
	if len(c.connUse) > 0 {
		p("\n## Connections\n\nSecrets come from environment variables, named as prompt flow's server names its connection overrides (`<CONNECTION>_<FIELD>`):\n\n| connection | type | set |\n| --- | --- | --- |\n")
		for _, name := range c.connUse {
			conn := c.conns[name]
			typ := conn.Type
			if conn.assumed != "" {
				typ = "assumed " + conn.assumed
			}
			var envs []string
			for _, s := range c.secrets {
				if strings.HasPrefix(s.comment, "connection "+name+":") {
					envs = append(envs, "`"+s.env+"`")
				}
			}
			p("| %s | %s | %s |\n", name, typ, strings.Join(envs, ", "))
		}
		p("\nA connection described by no `--connection NAME=FILE` was assumed as the table says: to change it, import again with `--connection %s=conn.yaml` (the YAML that `pf connection create -f` reads).", c.connUse[0])
		for _, name := range c.connUse {
			if conn := c.conns[name]; conn.Fields["api_base"] == placeholderAzureBase && c.llmConn[name] {
				p(" Connection %s calls `%s`, a placeholder: set its `api_base` and `grants.hosts` in flow.cue to your Azure OpenAI resource, or import with its YAML.", name, placeholderAzureBase)
			}
		}
		p("\n")
	}
	if len(c.notes) > 0 {
		p("\n## Notes\n\n")
		for _, n := range c.notes {
			p("- %s\n", n)
		}
	}
	p("\n## Running it\n\n```sh\n")
	for _, s := range c.secrets {
		p("export %s=...\n", s.env)
	}
	p("weir validate flow.cue\n")
	var inputs []string
	for _, f := range c.inputs {
		inputs = append(inputs, "--input "+f.key+"=...")
	}
	p("weir run flow.cue %s\n", strings.Join(inputs, " "))
	p("%s\n", c.batchCommand())
	p("weir serve flow.cue                # POST /score as pf flow serve answers it\n```\n")
	p("\nHow weir differs from prompt flow, and what it does not support: the section \"Coming from prompt flow\" of weir's README.\n")
	return []byte(b.String())
}

// batchCommand is `weir batch` as the flow's run.yml asks for it, if it
// has one.
func (c *converter) batchCommand() string {
	var run struct {
		Data          string            `yaml:"data"`
		ColumnMapping map[string]string `yaml:"column_mapping"`
	}
	data := "data.jsonl"
	if src, ok := c.files["run.yml"]; ok && yaml.Unmarshal(src, &run) == nil {
		if run.Data != "" {
			data = run.Data
		}
	}
	cmd := "weir batch flow.cue --data " + data
	keys := make([]string, 0, len(run.ColumnMapping))
	for k := range run.ColumnMapping {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := run.ColumnMapping[k]
		if strings.HasPrefix(v, "${data.") {
			cmd += fmt.Sprintf(" --column-mapping %s='%s'", k, v)
		}
	}
	return cmd
}
