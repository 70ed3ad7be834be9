package engine

import (
	"maps"
	"slices"

	"github.com/weirflow/weir/internal/schemas"
	"github.com/weirflow/weir/plugins"
)

// FlowFile is one flow file as weir parses it: its name and version and
// the files it names, a plugin's file, a folder granted to a plugin, a
// sub-flow. A program that handles flows as files, as a bundle does, reads
// them from here instead of parsing flows itself. A FlowFile must not be
// modified.
type FlowFile struct {
	// Path is the file's path as given to Load, Parse or Inspect, or as
	// the node that runs it names it, resolved; positions name it.
	Path string
	// Source is the content that was parsed.
	Source        []byte
	Name, Version string
	// Plugins are the file's plugin entries.
	Plugins []PluginEntry
	// SubFlows are the file's nodes that run another flow file, in file
	// order.
	SubFlows []SubFlow
	// Secrets are the file's secrets block, in file order; a file secret's
	// path is resolved against the folder of the file.
	Secrets []Secret
	// Embeds are the files whose text the file's fields take with CUE's
	// @embed attribute, in file order.
	Embeds []Embed
}

// Embed is a file that a flow file embeds:
// template: _ @embed(file="classify.jinja2", type=text).
type Embed struct {
	// Pos is where the attribute is.
	Pos Pos
	// Path is the file, resolved against the folder of the flow file;
	// Written is the path as the attribute writes it, inside that folder.
	Path, Written string
}

// PluginEntry is one entry of a flow file's plugins block.
type PluginEntry struct {
	// Pos is where the entry is.
	Pos Pos
	// Spec is the entry as its provider gets it, with paths resolved
	// against the folder of the file.
	Spec plugins.Spec
	// File and Dirs are Spec.Source and the paths of Spec.Grants.Dirs, by
	// path inside the sandbox, as the file writes them.
	File string
	Dirs map[string]string
	// Requirements and Interpreter are a python entry's requirements and
	// interpreter paths as the file writes them, or "".
	Requirements, Interpreter string
}

// SubFlow is a node of a flow file that runs another flow file.
type SubFlow struct {
	Node string
	// Pos is where the node's flow field is.
	Pos Pos
	// Path is the sub-flow's file, resolved against the folder of the
	// file, as Load reads it; Written is the path as the node writes it.
	Path, Written string
}

// Inspect parses the flow file filename, whose content is src, and checks
// it against weir's flow schema, as Parse does first; but it opens no
// plugin, checks no reference, tool or type, reads no sub-flow, and reads
// no file the flow embeds: it lists them (FlowFile.Embeds). filename picks
// the syntax and names positions; relative paths resolve against its
// folder. A file with problems returns FlowErrors. Inspect is safe to call
// from several goroutines.
func Inspect(filename string, src []byte) (*FlowFile, error) {
	spec, err := schemas.ParseWith(filename, src, schemas.Options{SkipEmbeds: true})
	if err != nil {
		return nil, flowErrors(err)
	}
	return flowFile(spec, src), nil
}

// flowFile tells what spec, parsed from src, names outside itself.
func flowFile(spec *schemas.Flow, src []byte) *FlowFile {
	ff := &FlowFile{Path: spec.File, Source: src, Name: spec.Name, Version: spec.Version}
	for _, p := range spec.Plugins {
		ff.Plugins = append(ff.Plugins, PluginEntry{Pos: toPos(p.Pos), Spec: p.Spec, File: p.File, Dirs: maps.Clone(p.Dirs), Requirements: p.Requirements, Interpreter: p.Interpreter})
	}
	for _, s := range spec.Secrets {
		ff.Secrets = append(ff.Secrets, Secret{Name: s.Name, SecretSource: SecretSource{Env: s.Env, File: s.File}})
	}
	for _, em := range spec.Embeds {
		ff.Embeds = append(ff.Embeds, Embed{Pos: toPos(em.Pos), Path: em.Path, Written: em.Written})
	}
	for _, n := range spec.Nodes {
		if n.Flow != "" {
			ff.SubFlows = append(ff.SubFlows, SubFlow{Node: n.Name, Pos: toPos(n.FlowPos), Path: n.Flow, Written: n.FlowWritten})
		}
	}
	return ff
}

// FlowFiles returns the flow's file followed by the files of its
// sub-flows, recursively, each once, as they were parsed when the flow
// loaded: what a bundle of the flow holds besides its plugins.
func (f *Flow) FlowFiles() []*FlowFile {
	files := []*FlowFile{flowFile(f.spec, f.src)}
	for _, n := range f.nodes {
		sub, ok := n.tool.(*subflowTool)
		if !ok {
			continue
		}
		for _, ff := range sub.flow.FlowFiles() {
			if !slices.ContainsFunc(files, func(have *FlowFile) bool { return have.Path == ff.Path }) {
				files = append(files, ff)
			}
		}
	}
	return files
}
