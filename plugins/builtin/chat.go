package builtin

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/weirflow/weir/internal/jinja"
	"github.com/weirflow/weir/plugins"
)

// chatMessage is one message of a chat prompt, in the shape of the OpenAI
// chat API's messages. Content is nil only for an assistant message that
// carries tool_calls instead.
type chatMessage struct {
	Role       string          `json:"role"`
	Name       string          `json:"name,omitempty"`
	Content    *string         `json:"content"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
	ToolCalls  json.RawMessage `json:"tool_calls,omitempty"`
}

// chatRoles are the roles a header line may name, as in prompt flow.
var chatRoles = []string{"system", "user", "assistant", "function", "tool"}

// pyWS is what Python's \s matches in a str pattern; Go's \s is ASCII only.
const pyWS = `[\t\n\v\f\r \x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]`

var (
	// chatHeader is prompt flow's role line: "# system:", "user:", "USER :"
	// alone on a line ("#" optional, case ignored).
	chatHeader = regexp.MustCompile(`(?im)^` + pyWS + `*#?` + pyWS + `*(` + strings.Join(chatRoles, "|") + `)` + pyWS + `*:` + pyWS + `*\n`)
	// valueHeader finds role lines in a variable's value. It also takes one
	// at the very end of the value, where the template's text may finish it.
	valueHeader = regexp.MustCompile(`(?im)^` + pyWS + `*#?` + pyWS + `*(` + strings.Join(chatRoles, "|") + `)` + pyWS + `*:` + pyWS + `*$`)
	// The parts of a message after its header, as prompt flow reads them.
	nameContent   = regexp.MustCompile(`(?s)^\n*#{0,2}` + pyWS + `*name:\n+` + pyWS + `*(\S+)` + pyWS + `*\n*#{0,2}` + pyWS + `*content:\n?(.*)`)
	toolIDContent = regexp.MustCompile(`(?s)^\n*#{0,2}` + pyWS + `*tool_call_id:\n+` + pyWS + `*(\S+)` + pyWS + `*\n*#{0,2}` + pyWS + `*content:\n?(.*)`)
	toolCalls     = regexp.MustCompile(`(?s)^\n*#{0,2}` + pyWS + `*tool_calls:` + pyWS + `*\n+` + pyWS + `*(\[.*?\])`)
)

// renderChat renders template, a Jinja2 template as prompt flow renders
// it, with vars as its variables (each a JSON value), and parses the text
// into chat messages at its role lines ("# system:", "# user:", ...).
// messages is nil when the text has no role line. It is for builtin.prompt
// and builtin.llm, which take the same template.
//
// With chatLists, the lists in the variables print as prompt flow's Azure
// OpenAI chat tool prints them, their items one a line (jinja.ChatLists).
//
// The guard against role lines injected through variables: a role line
// inside the value of a variable stays text inside the message the value
// was rendered into, unless the variable is named in trusted, whose values
// are prompt text (another node's output) and may split messages. The
// text and the messages hold the values as they were.
//
// Errors say what is wrong with the template ("parse template:
// template:3:1: ...") or with the chat text, as plugins.InvalidInput
// errors, or which bound of jinja.Limits rendering hit, as plugins.Limit.
// Safe for concurrent use.
func renderChat(template string, vars map[string]json.RawMessage, trusted []string, chatLists bool) (text string, messages []chatMessage, err error) {
	tmpl, err := templates.parse(template)
	if err != nil {
		return "", nil, plugins.WithKind(plugins.InvalidInput, fmt.Errorf("parse template: %w", err))
	}
	g := newRoleGuard()
	values := make(map[string]any, len(vars))
	for name, raw := range vars {
		v, err := jinja.DecodeJSON(raw)
		if err != nil {
			return "", nil, plugins.Errorf(plugins.InvalidInput, "input %q: %w", name, err)
		}
		if !slices.Contains(trusted, name) {
			v = g.escape(v)
		}
		if chatLists {
			v = jinja.ChatLists{Value: v}
		}
		values[name] = v
	}
	escaped, err := tmpl.Render(values)
	if err != nil {
		kind := plugins.InvalidInput
		if errors.Is(err, jinja.ErrLimit) {
			kind = plugins.Limit
		}
		return "", nil, plugins.WithKind(kind, g.restoreErr(fmt.Errorf("render template: %w", err)))
	}
	messages, err = parseChat(escaped)
	if err != nil {
		return "", nil, plugins.WithKind(plugins.InvalidInput, g.restoreErr(err))
	}
	for i := range messages {
		g.restoreMessage(&messages[i])
	}
	return g.restore(escaped), messages, nil
}

// parseChat splits text at its role lines into messages, as prompt flow's
// parse_chat does: each message's content is trimmed; a function message
// needs "## name:" and "## content:" parts, a tool message "##
// tool_call_id:" and "## content:"; an assistant message may carry "##
// tool_calls:" and a Python list; other messages may carry a name. Text
// before the first role line is an error; no role line at all gives nil.
func parseChat(text string) ([]chatMessage, error) {
	locs := chatHeader.FindAllStringSubmatchIndex(text, -1)
	if locs == nil {
		return nil, nil
	}
	if before := strings.TrimFunc(text[:locs[0][0]], isPySpace); before != "" {
		return nil, fmt.Errorf("parse chat: text before the first role line (\"# system:\", \"# user:\", \"# assistant:\", \"# function:\" or \"# tool:\"): %q", excerpt([]byte(before), 60))
	}
	messages := make([]chatMessage, 0, len(locs))
	for i, loc := range locs {
		end := len(text)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		m, err := chatPart(strings.ToLower(text[loc[2]:loc[3]]), text[loc[1]:end], i+1)
		if err != nil {
			return nil, err
		}
		messages = append(messages, m)
	}
	return messages, nil
}

// chatPart reads the body of message number n, after its role line.
func chatPart(role, body string, n int) (chatMessage, error) {
	m := chatMessage{Role: role}
	content := body
	switch role {
	case "function":
		sub := nameContent.FindStringSubmatch(body)
		if sub == nil {
			return m, fmt.Errorf("parse chat: message %d (function) wants a \"## name:\" line, the function's name, a \"## content:\" line and the content", n)
		}
		m.Name, content = sub[1], sub[2]
	case "tool":
		sub := toolIDContent.FindStringSubmatch(body)
		if sub == nil {
			return m, fmt.Errorf("parse chat: message %d (tool) wants a \"## tool_call_id:\" line, the id, a \"## content:\" line and the content", n)
		}
		m.ToolCallID, content = sub[1], sub[2]
	case "assistant":
		if sub := toolCalls.FindStringSubmatch(body); sub != nil {
			if calls, err := pyLiteralJSON(sub[1]); err == nil {
				m.ToolCalls = calls
				return m, nil
			}
		}
		fallthrough
	default:
		if sub := nameContent.FindStringSubmatch(body); sub != nil {
			m.Name, content = sub[1], sub[2]
		}
	}
	content = strings.TrimFunc(content, isPySpace)
	m.Content = &content
	return m, nil
}

// pyLiteralJSON reads a Python literal (prompt flow evaluates it) and
// writes it as JSON.
func pyLiteralJSON(src string) (json.RawMessage, error) {
	v, err := jinja.EvalLiteral(src)
	if err != nil {
		return nil, err
	}
	return jinja.MarshalJSON(v)
}

func isPySpace(r rune) bool {
	return r == ' ' || r >= '\t' && r <= '\r' || r >= 0x1c && r <= 0x1f || r == 0x85 || r == 0xa0 ||
		r == 0x1680 || r >= 0x2000 && r <= 0x200a || r == 0x2028 || r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000
}

// roleGuard stands in for the role words of role lines found in variables,
// so that they cannot split the chat, and puts them back afterwards. A
// stand-in is private-use characters around digits: no filter changes its
// case, and a nonce drawn per render keeps a variable from forging one.
type roleGuard struct {
	nonce string
	words []string // stand-in i stands for words[i]
}

func newRoleGuard() *roleGuard {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &roleGuard{nonce: strconv.FormatUint(binary.LittleEndian.Uint64(b[:]), 10)}
}

func (g *roleGuard) standIn(i int) string {
	return "\ue000" + g.nonce + "." + strconv.Itoa(i) + "\ue001"
}

// escape replaces, in every string inside v, the role word of each role
// line with a stand-in.
func (g *roleGuard) escape(v any) any {
	switch v := v.(type) {
	case string:
		locs := valueHeader.FindAllStringSubmatchIndex(v, -1)
		if locs == nil {
			return v
		}
		var b strings.Builder
		last := 0
		for _, loc := range locs {
			b.WriteString(v[last:loc[2]])
			b.WriteString(g.standIn(len(g.words)))
			g.words = append(g.words, v[loc[2]:loc[3]])
			last = loc[3]
		}
		b.WriteString(v[last:])
		return b.String()
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = g.escape(e)
		}
		return out
	case *jinja.Dict:
		out := &jinja.Dict{}
		for _, k := range v.Keys() {
			e, _ := v.Get(k)
			out.Set(k, g.escape(e))
		}
		return out
	}
	return v
}

// restore puts the role words back into s.
func (g *roleGuard) restore(s string) string {
	if len(g.words) == 0 || !strings.Contains(s, "\ue000") {
		return s
	}
	pairs := make([]string, 0, 2*len(g.words))
	for i, w := range g.words {
		pairs = append(pairs, g.standIn(i), w)
	}
	return strings.NewReplacer(pairs...).Replace(s)
}

func (g *roleGuard) restoreErr(err error) error {
	if msg := g.restore(err.Error()); msg != err.Error() {
		return fmt.Errorf("%s", msg)
	}
	return err
}

func (g *roleGuard) restoreMessage(m *chatMessage) {
	m.Name = g.restore(m.Name)
	m.ToolCallID = g.restore(m.ToolCallID)
	if m.Content != nil {
		c := g.restore(*m.Content)
		m.Content = &c
	}
	if m.ToolCalls != nil {
		// A role word in JSON text is the same word: no escapes apply.
		m.ToolCalls = json.RawMessage(g.restore(string(m.ToolCalls)))
	}
}

// templates keeps the parsed Jinja templates of prompt and llm.
var templates jinjaCache

type jinjaCache struct{ parseCache[*jinja.Template] }

func (c *jinjaCache) parse(src string) (*jinja.Template, error) {
	return c.get(src, func(src string) (*jinja.Template, error) { return jinja.Parse("template", src) })
}
