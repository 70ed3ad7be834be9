package schemas

import (
	"encoding/json"
	"strings"
)

// pythonPaths resolves the paths of a python entry's object form against
// the flow file's folder, as Spec.Source is: path, requirements, and an
// interpreter given as a path ("venv/bin/python", not "python3", which is
// looked up on PATH). Other kinds' options are returned as they are. It
// keeps the requirements and interpreter as written in p.
func (d *decoder) pythonPaths(p *Plugin, opts []byte) []byte {
	if p.Spec.Kind != "python" {
		return opts
	}
	var entry map[string]json.RawMessage
	var src map[string]any
	if json.Unmarshal(opts, &entry) != nil || json.Unmarshal(entry["python"], &src) != nil {
		return opts // the shorthand: Source is the path
	}
	p.Requirements, _ = src["requirements"].(string)
	p.Interpreter, _ = src["interpreter"].(string)
	for _, key := range []string{"path", "requirements", "interpreter"} {
		s, ok := src[key].(string)
		if !ok || (key == "interpreter" && !strings.ContainsRune(s, '/')) {
			continue
		}
		src[key] = d.path(s)
	}
	entry["python"], _ = json.Marshal(src)
	out, err := json.Marshal(entry)
	if err != nil {
		return opts
	}
	return out
}
