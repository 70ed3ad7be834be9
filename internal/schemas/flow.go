package schemas

import (
	"time"

	"github.com/weirflow/weir/plugins"
)

// Flow is a parsed and schema-checked flow file. Its references, tools and
// types are not checked yet: that is the engine's job, since it needs the
// plugins' contracts.
type Flow struct {
	// File is the path the flow was loaded from, as given.
	File        string
	Name        string
	Description string
	Version     string
	Plugins     []Plugin
	Inputs      []Input
	// InputSchema is the JSON Schema of the inputs object, derived from the
	// CUE types of the inputs.
	InputSchema []byte
	// Secrets are the declarations of the secrets block, in file order.
	Secrets []Secret
	Nodes   []Node
	Outputs []Field
	// Concurrency and Timeout are zero when the flow leaves them to the engine.
	Concurrency int
	Timeout     time.Duration
	Defaults    Defaults
	// Chat is the chat field, nil when the flow has none.
	Chat *Chat
	// Embeds are the files whose text the flow's fields take with @embed,
	// in file order.
	Embeds []Embed
}

// Chat names what makes a flow a chat flow: the input that takes the
// user's message, the output that answers it, and the input that takes
// the chat's history ("" when none does).
type Chat struct {
	Pos                    Pos
	Input, Output, History string
}

// Input is one declared input of a flow.
type Input struct {
	Name string
	Pos  Pos
}

// Plugin is one entry of the flow's plugins block.
type Plugin struct {
	Pos  Pos
	Spec plugins.Spec
	// File and Dirs are Spec.Source and the paths of the granted folders
	// as the file writes them, before they are resolved.
	File string
	Dirs map[string]string
	// Requirements and Interpreter are a python entry's requirements and
	// interpreter paths as the file writes them ("" when it names none).
	Requirements, Interpreter string
	// Config and Env are the entry's config and env values, with their
	// positions, for the references to secrets they may hold.
	Config, Env []Field
}

// Secret is one declaration of the flow's secrets block: where its value
// comes from, never the value.
type Secret struct {
	Name string
	Pos  Pos
	// Env names an environment variable; File is a path, resolved against
	// the flow's folder, as FileWritten is written in the file. Exactly one
	// of Env and File is set.
	Env         string
	File        string
	FileWritten string
}

// Node is one step of a flow.
type Node struct {
	Name    string
	Pos     Pos
	Tool    string // "<plugin>.<tool>", or empty for a sub-flow node
	ToolPos Pos
	Flow    string // the sub-flow's path, resolved against the flow's folder
	FlowPos Pos
	// FlowWritten is Flow as the file writes it.
	FlowWritten string
	Inputs      []Field
	When        *When
	Timeout     time.Duration
	Retry       *Retry
	// Aggregate nodes run once per batch over lists of their inputs.
	Aggregate bool
	// Cache is the node's own cache setting, nil when it has none.
	Cache *Cache
}

// When is a node's condition: the node runs only if the value Ref reads,
// or the literal Value, equals Is. Exactly one of Ref and Value is set.
type When struct {
	Pos   Pos
	Ref   *Value // a string holding one reference
	Value *Value // a literal
	Is    Value
}

// Subject is Ref or Value, whichever is set: what the condition compares
// with Is.
func (w *When) Subject() Value {
	if w.Ref != nil {
		return *w.Ref
	}
	return *w.Value
}

// Retry is a node's retry policy.
type Retry struct {
	Attempts   int
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// Defaults apply to the nodes that do not set their own.
type Defaults struct {
	Timeout time.Duration
	Retry   *Retry
	Cache   *Cache
}

// Cache is a cache setting of a node or of the defaults.
type Cache struct {
	Pos Pos
	// On is false for cache: false.
	On bool
	// TTL is how old an entry may be to be used; zero means any age.
	TTL time.Duration
}

// Field is a named value of a flow: a node input or a flow output.
type Field struct {
	Name  string
	Pos   Pos
	Value Value
}

// ValueKind tells which of Value's fields hold the value.
type ValueKind uint8

const (
	// Scalar is null, a boolean or a number; Value.Text is its JSON encoding.
	Scalar ValueKind = iota
	// String is a string; Value.Text is its text, which may hold references.
	String
	// List is a list; Value.Items are its elements.
	List
	// Object is a struct; Value.Fields are its fields in file order.
	Object
)

// Value is a literal from a flow file, as a tree that keeps the position of
// every string so that a bad reference inside it can be pointed at.
type Value struct {
	Kind   ValueKind
	Pos    Pos
	Text   string
	Items  []Value
	Fields []Field
	// Embed is the file a String's text comes from, as its @embed
	// attribute writes it, or "". Such a text is taken as it is: a "${" in
	// it is no reference.
	Embed string
	// quote is the number of bytes between Pos and the string's first
	// character when the string is on one line without escapes, else -1.
	quote int
}

// PosAt returns the position of byte offset off of a String value's text,
// or the value's own position when the text's layout in the file is not
// known (escapes, multi-line strings).
func (v Value) PosAt(off int) Pos {
	if v.Kind != String || v.quote < 0 {
		return v.Pos
	}
	p := v.Pos
	p.Col += v.quote + off
	return p
}
