package builtin

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/weirflow/weir/internal/granthttp"
	"github.com/weirflow/weir/internal/jsonscan"
	"github.com/weirflow/weir/plugins"
)

const (
	// defaultAPIBase is OpenAI's, for an entry of api_type openai that
	// names none.
	defaultAPIBase = "https://api.openai.com/v1"
	// defaultAzureVersion is the api-version prompt flow sends by default.
	defaultAzureVersion = "2024-02-01"
	// defaultTries bounds the calls of one node attempt when the service
	// keeps answering 429 or 5xx and the node's deadline is far.
	defaultTries = 6
	// llmTimeout bounds one exchange when neither the entry's
	// limits.timeout nor the node sets a deadline: models can take minutes
	// to write a long answer, but a service that stalls must not hold a
	// run for ever.
	llmTimeout = 10 * time.Minute
	// Waits between tries when the service does not say: the first, and
	// the most that doubling reaches.
	firstBackoff = time.Second
	maxBackoff   = 30 * time.Second
)

// llmConfig is the connection: the plugin entry's config.
type llmConfig struct {
	APIBase    string `json:"api_base"`
	APIKey     string `json:"api_key"`
	APIType    string `json:"api_type"`
	APIVersion string `json:"api_version"`
	// Organization is sent as OpenAI-Organization when set.
	Organization string `json:"organization"`
	MaxTries     string `json:"max_tries"`
	tries        int    // MaxTries, read
}

// llmParams are the request's parameters: only those set are sent.
type llmParams struct {
	Temperature      *float64        `json:"temperature,omitempty" desc:"Sampling temperature, 0 to 2."`
	MaxTokens        *int            `json:"max_tokens,omitempty" desc:"The most tokens to generate."`
	TopP             *float64        `json:"top_p,omitempty" desc:"Nucleus sampling: the probability mass to sample from."`
	N                *int            `json:"n,omitempty" desc:"How many choices to generate; the outputs hold the first."`
	Stop             json.RawMessage `json:"stop,omitempty" desc:"A string or a list of strings where the model stops."`
	PresencePenalty  *float64        `json:"presence_penalty,omitempty" desc:"-2 to 2: penalises tokens already present."`
	FrequencyPenalty *float64        `json:"frequency_penalty,omitempty" desc:"-2 to 2: penalises frequent tokens."`
	LogitBias        json.RawMessage `json:"logit_bias,omitempty" desc:"An object of token ids to biases."`
	User             string          `json:"user,omitempty" desc:"An id of the end user, for the service's abuse monitoring."`
	ResponseFormat   json.RawMessage `json:"response_format,omitempty" desc:"For example {\"type\": \"json_object\"}."`
	Seed             *int64          `json:"seed,omitempty" desc:"A seed for repeatable sampling, where the model supports it."`
	Tools            json.RawMessage `json:"tools,omitempty" desc:"Tools the model may call (chat); the output message then holds its tool_calls."`
	ToolChoice       json.RawMessage `json:"tool_choice,omitempty" desc:"\"none\", \"auto\", \"required\" or one tool."`
	Functions        json.RawMessage `json:"functions,omitempty" desc:"Functions the model may call (chat, the older form of tools); ignored when tools is set."`
	FunctionCall     json.RawMessage `json:"function_call,omitempty" desc:"\"none\", \"auto\" or one function."`
}

// completionParams are the parameters only the completion API has (prompt
// flow's completion tool has them too: SPEC §3.2): sent when set, refused
// on chat, where the service would refuse them less clearly.
type completionParams struct {
	Suffix   *string `json:"suffix,omitempty" desc:"Completion only: the text that comes after the completion."`
	Logprobs *int    `json:"logprobs,omitempty" desc:"Completion only: return the log probabilities of this many likeliest tokens."`
	Echo     *bool   `json:"echo,omitempty" desc:"Completion only: return the prompt before the completion."`
	BestOf   *int    `json:"best_of,omitempty" desc:"Completion only: generate this many completions and return the best."`
}

// llmIn is what the llm tool takes.
type llmIn struct {
	API        string          `json:"api,omitempty" desc:"\"chat\" (the default) or \"completion\"."`
	Model      string          `json:"model,omitempty" desc:"The model to call; for Azure OpenAI, the deployment when deployment is not set."`
	Deployment string          `json:"deployment,omitempty" desc:"The Azure OpenAI deployment to call."`
	Template   *string         `json:"template,omitempty" desc:"A Jinja2 prompt, rendered as builtin.prompt renders it with the inputs that are not the tool's own as its variables; for chat, split into messages at its role lines (\"# system:\", \"# user:\")."`
	Trusted    []string        `json:"trusted,omitempty" desc:"Variables of the template whose role lines may start chat messages; in every other variable they stay text."`
	Messages   json.RawMessage `json:"messages,omitempty" desc:"The chat messages, instead of a template: a list of objects with role and content."`
	Prompt     *string         `json:"prompt,omitempty" desc:"The text to complete (completion), instead of a template."`
	ListPrint  string          `json:"list_print,omitempty" desc:"How the template prints a list: \"repr\" (the default) as Python's list, ['a', 'b']; \"lines\" as its items, one a line, as prompt flow's Azure OpenAI chat tool prints its variables' lists (ChatInputList)."`
	llmParams
	completionParams
}

// llmOwnInputs are the names of llmIn's fields: the inputs that are not
// variables of the template.
var llmOwnInputs = func() map[string]bool {
	var props struct {
		Properties map[string]json.RawMessage `json:"properties"`
	}
	_ = json.Unmarshal(plugins.SchemaOf(reflect.TypeFor[llmIn]()), &props)
	own := make(map[string]bool, len(props.Properties))
	for name := range props.Properties {
		own[name] = true
	}
	return own
}()

// llmUsage is the tokens an answer reports.
type llmUsage struct {
	PromptTokens     int64 `json:"prompt_tokens" desc:"Tokens of the prompt."`
	CompletionTokens int64 `json:"completion_tokens" desc:"Tokens of the answer."`
	TotalTokens      int64 `json:"total_tokens" desc:"Both."`
}

// llmOut is what the llm tool returns.
type llmOut struct {
	Text         string          `json:"text" desc:"The answer: the message's content (chat) or the choice's text (completion)."`
	Message      json.RawMessage `json:"message" desc:"The whole assistant message when tools or functions were given, with its tool_calls; else null."`
	Usage        llmUsage        `json:"usage" desc:"The tokens the call used."`
	Model        string          `json:"model" desc:"The model that answered, as the service names it."`
	FinishReason string          `json:"finish_reason" desc:"Why the model stopped: stop, length, tool_calls, content_filter."`
}

// llmInputs is the schema of llmIn, open to any other input: the
// template's variables.
var llmInputs = func() json.RawMessage {
	s := plugins.SchemaOf(reflect.TypeFor[llmIn]())
	return bytes.Replace(s, []byte(`"additionalProperties":false}`), []byte(`"additionalProperties":true}`), 1)
}()

// llmTool calls an OpenAI-compatible or Azure OpenAI API. It is safe for
// concurrent use.
type llmTool struct {
	plugin string // the entry's name, for messages
	client *granthttp.Client
	cfg    llmConfig
	limit  time.Duration // the entry's limits.timeout, or 0

	// Replaced by tests, so that retries need no real waits.
	sleep  func(ctx context.Context, d time.Duration) error
	now    func() time.Time
	jitter func() float64
}

func newLLMTool(plugin string, client *granthttp.Client, cfg llmConfig, limit time.Duration) *llmTool {
	return &llmTool{plugin: plugin, client: client, cfg: cfg, limit: limit,
		sleep: sleepCtx, now: time.Now, jitter: rand.Float64}
}

// parseLLMConfig reads the connection from the entry's config, with
// OpenAI's defaults for what it leaves out.
func parseLLMConfig(opts json.RawMessage) (llmConfig, error) {
	var entry struct {
		Config llmConfig `json:"config"`
	}
	if len(opts) > 0 {
		if err := json.Unmarshal(opts, &entry); err != nil {
			return llmConfig{}, fmt.Errorf("read entry: %w", err)
		}
	}
	c := entry.Config
	switch c.APIType {
	case "", "openai":
		c.APIType = "openai"
		if c.APIBase == "" {
			c.APIBase = defaultAPIBase
		}
	case "azure":
		if c.APIVersion == "" {
			c.APIVersion = defaultAzureVersion
		}
	default:
		return c, fmt.Errorf("config.api_type: %q is not \"openai\" or \"azure\"", c.APIType)
	}
	if c.APIBase == "" {
		return c, errors.New("config.api_base is missing: set it to the resource's address, as in \"https://NAME.openai.azure.com\"")
	}
	u, err := url.Parse(c.APIBase)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("config.api_base: %q is not an http or https URL", c.APIBase)
	}
	c.APIBase = strings.TrimSuffix(c.APIBase, "/")
	c.tries = defaultTries
	if c.MaxTries != "" {
		n, err := strconv.Atoi(c.MaxTries)
		if err != nil || n < 1 || n > 100 {
			return c, fmt.Errorf("config.max_tries: %q is not a number from 1 to 100", c.MaxTries)
		}
		c.tries = n
	}
	return c, nil
}

func (t *llmTool) tool() plugins.Tool {
	return llmFunc{plugins.RawFunc(plugins.Contract{
		Name: "llm",
		Description: "Calls a chat or completion model of an OpenAI-compatible API or Azure OpenAI, " +
			"as the plugin entry's config says (api_base, api_key, api_type, api_version), and returns its answer. " +
			"429 and 5xx answers are retried, after Retry-After when the service sends one.",
		Inputs:  llmInputs,
		Outputs: plugins.SchemaOf(reflect.TypeFor[llmOut]()),
	}, t.invoke)}
}

// llmFunc is the llm tool: it streams its text, and checks a literal
// template when the flow loads, as builtin.prompt does.
type llmFunc struct{ plugins.Tool }

func (llmFunc) Streams() string { return "text" }

func (llmFunc) Metered() {}

func (llmFunc) CheckLiterals(lits map[string]json.RawMessage) error { return checkTemplate(lits) }

// llmCall is one prepared call of the API.
type llmCall struct {
	url      string
	host     string // for messages
	api      string
	body     []byte
	model    string // the model or deployment asked for
	stream   bool
	withTool bool // tools or functions were given: the output has the message
}

func (t *llmTool) invoke(ctx context.Context, raw []byte) ([]byte, error) {
	var in llmIn
	if err := plugins.DecodeInputs(raw, &in); err != nil {
		return nil, err
	}
	if in.Template != nil {
		if err := render(&in, raw); err != nil {
			return nil, err
		}
	}
	c, err := t.prepare(ctx, in)
	if err != nil {
		return nil, err
	}
	out, err := t.send(ctx, c)
	if err != nil {
		return nil, err
	}
	provider := "openai"
	if t.cfg.APIType == "azure" {
		provider = "azure.ai.openai"
	}
	op := "chat"
	if c.api == "completion" {
		op = "text_completion"
	}
	plugins.ReportUsage(ctx, plugins.Usage{
		Provider: provider, Operation: op, RequestModel: c.model, Model: out.Model,
		InputTokens: out.Usage.PromptTokens, OutputTokens: out.Usage.CompletionTokens,
	})
	return jsonscan.Marshal(out)
}

// render renders the template into in's messages (chat) or prompt
// (completion), with the inputs that are not the tool's own as its
// variables.
func render(in *llmIn, raw []byte) error {
	switch {
	case in.ListPrint != "" && in.ListPrint != "repr" && in.ListPrint != "lines":
		return plugins.Errorf(plugins.InvalidInput, "llm: input \"list_print\": %q is not \"repr\" or \"lines\"", in.ListPrint)
	case in.Messages != nil:
		return plugins.Errorf(plugins.InvalidInput, "llm: give the input \"template\" or \"messages\", not both")
	case in.Prompt != nil:
		return plugins.Errorf(plugins.InvalidInput, "llm: give the input \"template\" or \"prompt\", not both")
	}
	var vars map[string]json.RawMessage
	if err := json.Unmarshal(raw, &vars); err != nil {
		return plugins.Errorf(plugins.InvalidInput, "decode inputs: %w", err)
	}
	for name := range vars {
		if llmOwnInputs[name] {
			delete(vars, name)
		}
	}
	text, messages, err := renderChat(*in.Template, vars, in.Trusted, in.ListPrint == "lines")
	if err != nil {
		return fmt.Errorf("llm: %w", err)
	}
	if in.API == "completion" {
		in.Prompt = &text
		return nil
	}
	if messages == nil {
		return plugins.Errorf(plugins.InvalidInput, "llm: the template has no role line (\"# system:\", \"# user:\", ...) to start a chat message: %q", excerpt([]byte(text), 60))
	}
	b, err := json.Marshal(messages)
	if err != nil {
		return plugins.Errorf(plugins.Internal, "llm: encode messages: %w", err)
	}
	in.Messages = b
	return nil
}

// prepare checks the inputs and builds the request.
func (t *llmTool) prepare(ctx context.Context, in llmIn) (*llmCall, error) {
	c := &llmCall{api: in.API}
	switch in.API {
	case "", "chat":
		c.api = "chat"
		if len(in.Messages) == 0 || string(in.Messages) == "null" {
			return nil, plugins.Errorf(plugins.InvalidInput, "llm: input \"template\" or \"messages\" is missing: the chat API needs a prompt with role lines or a list of {role, content}")
		}
		if err := checkMessages(in.Messages); err != nil {
			return nil, err
		}
		if name := in.completionParams.set(); name != "" {
			return nil, plugins.Errorf(plugins.InvalidInput, "llm: input %q is a parameter of the completion API; the chat API has none", name)
		}
	case "completion":
		if in.Prompt == nil {
			return nil, plugins.Errorf(plugins.InvalidInput, "llm: input \"template\" or \"prompt\" is missing: the completion API needs the text to complete")
		}
	default:
		return nil, plugins.Errorf(plugins.InvalidInput, "llm: input \"api\": %q is not \"chat\" or \"completion\"", in.API)
	}
	body := struct {
		Model    string          `json:"model,omitempty"`
		Messages json.RawMessage `json:"messages,omitempty"`
		Prompt   *string         `json:"prompt,omitempty"`
		llmParams
		completionParams
		// Sent false too, as prompt flow's tools send it (SPEC §3.2).
		Stream        bool            `json:"stream"`
		StreamOptions json.RawMessage `json:"stream_options,omitempty"`
	}{llmParams: in.llmParams}
	// A null (a bypassed node's output) is a parameter not set.
	for _, p := range []*json.RawMessage{&body.Stop, &body.LogitBias, &body.ResponseFormat,
		&body.Tools, &body.ToolChoice, &body.Functions, &body.FunctionCall} {
		if string(*p) == "null" {
			*p = nil
		}
	}
	if c.api == "chat" {
		body.Messages = in.Messages
	} else {
		body.Prompt = in.Prompt
		body.completionParams = in.completionParams
		// Tools belong to chat.
		body.Tools, body.ToolChoice, body.Functions, body.FunctionCall = nil, nil, nil, nil
	}
	if body.Tools != nil {
		// As prompt flow does: tools win over the older functions.
		body.Functions, body.FunctionCall = nil, nil
	}
	c.withTool = body.Tools != nil || body.Functions != nil

	path := "/chat/completions"
	if c.api == "completion" {
		path = "/completions"
	}
	if t.cfg.APIType == "azure" {
		c.model = cmp.Or(in.Deployment, in.Model)
		if c.model == "" {
			return nil, plugins.Errorf(plugins.InvalidInput, "llm: input \"deployment\" is missing: name the Azure OpenAI deployment to call")
		}
		c.url = t.cfg.APIBase + "/openai/deployments/" + url.PathEscape(c.model) + path + "?api-version=" + url.QueryEscape(t.cfg.APIVersion)
	} else {
		c.model = in.Model
		if c.model == "" {
			return nil, plugins.Errorf(plugins.InvalidInput, "llm: input \"model\" is missing: name the model to call")
		}
		c.url = t.cfg.APIBase + path
	}
	// Azure reads the deployment from the path, but prompt flow's tool
	// names it in the body too, as the OpenAI SDK does.
	body.Model = c.model
	// Stream only a plain text answer: tool calls and several choices
	// come whole.
	if plugins.StreamTo(ctx) != nil && !c.withTool && (in.N == nil || *in.N == 1) {
		c.stream, body.Stream = true, true
		if t.cfg.APIType == "openai" || t.cfg.APIVersion >= "2024-09-01" {
			// Older Azure versions refuse stream_options; their streams
			// then report no usage.
			body.StreamOptions = json.RawMessage(`{"include_usage":true}`)
		}
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, plugins.Errorf(plugins.InvalidInput, "llm: encode request: %w", err)
	}
	c.body = b
	u, _ := url.Parse(c.url)
	c.host = u.Host
	return c, nil
}

// set returns the name of a parameter that is set, or "".
func (p completionParams) set() string {
	switch {
	case p.Suffix != nil:
		return "suffix"
	case p.Logprobs != nil:
		return "logprobs"
	case p.Echo != nil:
		return "echo"
	case p.BestOf != nil:
		return "best_of"
	}
	return ""
}

// checkMessages makes sure messages is a list of objects with a role,
// which the service would refuse less clearly.
func checkMessages(raw json.RawMessage) error {
	var msgs []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return plugins.Errorf(plugins.InvalidInput, "llm: input \"messages\": want a list of objects with role and content, got %s", jsonscan.Type(raw))
	}
	if len(msgs) == 0 {
		return plugins.Errorf(plugins.InvalidInput, "llm: input \"messages\" is empty")
	}
	for i, m := range msgs {
		var role string
		if json.Unmarshal(m["role"], &role) != nil || role == "" {
			return plugins.Errorf(plugins.InvalidInput, "llm: input \"messages\"[%d] has no role", i)
		}
	}
	return nil
}

// send makes the call, retrying on 429, 5xx and broken connections while
// tries and the deadline allow.
func (t *llmTool) send(ctx context.Context, c *llmCall) (*llmOut, error) {
	for try := 1; ; try++ {
		out, retryAfter, err := t.once(ctx, c)
		// Timeouts are the node's to retry: its deadline may be the cause.
		if err == nil || plugins.KindOf(err) != plugins.Retryable || ctx.Err() != nil {
			return out, err
		}
		wait := t.backoff(try, retryAfter)
		if try >= t.cfg.tries {
			return nil, gaveUp(err, try, retryAfter, "")
		}
		if dl, ok := ctx.Deadline(); ok && !t.now().Add(wait).Before(dl) {
			return nil, gaveUp(err, try, retryAfter, ": the next would start after the node's deadline")
		}
		if err := t.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// gaveUp says how many tries an error took, and the service's last
// Retry-After, keeping the error's kind.
func gaveUp(err error, tries int, retryAfter, why string) error {
	if tries == 1 && why == "" {
		return err
	}
	plural := "tries"
	if tries == 1 {
		plural = "try"
	}
	note := fmt.Sprintf(" (gave up after %d %s%s", tries, plural, why)
	if retryAfter != "" {
		note += fmt.Sprintf("; the last Retry-After was %q", retryAfter)
	}
	return plugins.WithKind(plugins.KindOf(err), fmt.Errorf("%w%s)", err, note))
}

// backoff is the wait before try+1: what the service asked for, else
// doubling from firstBackoff up to maxBackoff, with equal jitter.
func (t *llmTool) backoff(try int, retryAfter string) time.Duration {
	if d, ok := parseRetryAfter(retryAfter, t.now()); ok {
		return d
	}
	d := firstBackoff
	for k := 1; k < try && d < maxBackoff; k++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	return d/2 + time.Duration(t.jitter()*float64(d/2))
}

// parseRetryAfter reads Retry-After: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second)), true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}

// once makes one exchange. retryAfter is the Retry-After of a 429 or 5xx.
func (t *llmTool) once(ctx context.Context, c *llmCall) (out *llmOut, retryAfter string, err error) {
	reqCtx := ctx
	limit := ""
	switch _, has := ctx.Deadline(); {
	case t.limit > 0:
		limit = fmt.Sprintf(" within the %s timeout of plugins.%s.limits", t.limit, t.plugin)
		var cancel context.CancelFunc
		reqCtx, cancel = context.WithTimeout(ctx, t.limit)
		defer cancel()
	case !has:
		limit = fmt.Sprintf(" within the default %s timeout", llmTimeout)
		var cancel context.CancelFunc
		reqCtx, cancel = context.WithTimeout(ctx, llmTimeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, c.url, bytes.NewReader(c.body))
	if err != nil {
		return nil, "", plugins.Errorf(plugins.Internal, "llm: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if t.cfg.APIType == "azure" {
		req.Header.Set("api-key", t.cfg.APIKey)
	} else if t.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+t.cfg.APIKey)
	}
	if t.cfg.Organization != "" {
		req.Header.Set("OpenAI-Organization", t.cfg.Organization)
	}
	if c.stream {
		req.Header.Set("Accept", "text/event-stream")
	}
	resp, err := t.client.Send(req)
	if err != nil {
		return nil, "", transportError(ctx, reqCtx, c, "no answer from "+c.host, limit, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return nil, retryAfterOf(resp.Header), statusError(c, resp)
	}
	if c.stream && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		out, err = readStream(ctx, c, resp.Body)
	} else {
		out, err = readAnswer(c, resp.Body)
	}
	if err != nil {
		return nil, "", transportError(ctx, reqCtx, c, "the answer from "+c.host+" did not end", limit, err)
	}
	return out, "", nil
}

// retryAfterOf is the wait a response asks for: Azure's retry-after-ms in
// seconds when set, else Retry-After.
func retryAfterOf(h http.Header) string {
	if ms, err := strconv.ParseFloat(h.Get("Retry-After-Ms"), 64); err == nil && ms >= 0 {
		return strconv.FormatFloat(ms/1000, 'f', -1, 64)
	}
	return h.Get("Retry-After")
}

// transportError classifies the failure of an exchange that got no
// whole answer: what says what failed, limit names the tool's own
// deadline, if it set one.
func transportError(ctx, reqCtx context.Context, c *llmCall, what, limit string, err error) error {
	var pe *plugins.Error
	switch {
	case errors.As(err, &pe):
		// Not granted, a redirect to a host not granted, a malformed
		// answer: said as it is.
		if strings.HasPrefix(pe.Error(), "host ") {
			return plugins.WithKind(pe.Kind, fmt.Errorf("llm: %w", pe))
		}
		return pe
	case ctx.Err() != nil:
		return fmt.Errorf("llm: %s: %w", c.host, ctx.Err())
	case reqCtx.Err() != nil:
		return plugins.Errorf(plugins.Timeout, "llm: %s%s: %w", what, limit, context.DeadlineExceeded)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return plugins.Errorf(plugins.Retryable, "llm: %s: %w", what, err)
}

// apiError is the error object OpenAI and Azure OpenAI answer with.
type apiError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    any    `json:"code"`
	} `json:"error"`
}

// statusError reports an answer of status 400 or more with the service's
// message. 429 and 5xx can be retried, but for a quota used up.
func statusError(c *llmCall, resp *http.Response) error {
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	msg := fmt.Sprintf("llm: %s answered %s", c.host, resp.Status)
	var ae apiError
	detail := ""
	if json.Unmarshal(head, &ae) == nil && ae.Error.Message != "" {
		detail = ae.Error.Message
	} else {
		detail = excerpt(head, 200)
	}
	if detail != "" {
		msg += ": " + detail
	}
	kind := plugins.Internal
	quota := ae.Error.Type == "insufficient_quota" || ae.Error.Code == "insufficient_quota"
	if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500) && !quota {
		kind = plugins.Retryable
	}
	return &plugins.Error{Kind: kind, Err: errors.New(msg)}
}

// excerpt is the start of b as text, for messages.
func excerpt(b []byte, n int) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(b), ""))
	if len(s) > n {
		s = strings.ToValidUTF8(s[:n], "") + "..."
	}
	return s
}

// answer is what the service answers, and a stream's events hold.
type answer struct {
	Model   string `json:"model"`
	Choices []struct {
		Message      json.RawMessage `json:"message"`
		Delta        json.RawMessage `json:"delta"`
		Text         *string         `json:"text"`
		FinishReason *string         `json:"finish_reason"`
	} `json:"choices"`
	Usage *llmUsage `json:"usage"`
	// Error is set in a stream's event when the service failed after it
	// began.
	Error *struct {
		Message string `json:"message"`
	} `json:"error"`
}

// message is the part of an assistant message the outputs read.
type message struct {
	Content *string `json:"content"`
}

// readAnswer reads a whole answer.
func readAnswer(c *llmCall, body io.Reader) (*llmOut, error) {
	b, err := io.ReadAll(io.LimitReader(body, granthttp.MaxResponseBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > granthttp.MaxResponseBody {
		return nil, plugins.Errorf(plugins.Limit, "llm: the answer of %s is over the 10 MiB limit", c.host)
	}
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, malformed(c, err, b)
	}
	if len(a.Choices) == 0 {
		return nil, plugins.Errorf(plugins.Internal, "llm: %s answered no choices: %s", c.host, excerpt(b, 80))
	}
	ch := a.Choices[0]
	out := &llmOut{Model: a.Model}
	if ch.FinishReason != nil {
		out.FinishReason = *ch.FinishReason
	}
	if a.Usage != nil {
		out.Usage = *a.Usage
	}
	if c.api == "completion" {
		if ch.Text != nil {
			out.Text = *ch.Text
		}
		return out, nil
	}
	var m message
	if err := json.Unmarshal(ch.Message, &m); err != nil {
		return nil, malformed(c, fmt.Errorf("choices[0].message: %w", err), b)
	}
	if m.Content != nil {
		out.Text = *m.Content
	}
	if c.withTool {
		out.Message = ch.Message
	}
	return out, nil
}

func malformed(c *llmCall, err error, b []byte) error {
	return plugins.Errorf(plugins.Internal, "llm: %s answered malformed JSON: %v: %q", c.host, err, excerpt(b, 80))
}

// readStream reads server-sent events, "data: {...}" until "data: [DONE]",
// and hands each piece of text to the stream as it comes.
func readStream(ctx context.Context, c *llmCall, body io.Reader) (*llmOut, error) {
	emit := plugins.StreamTo(ctx)
	out := &llmOut{}
	var text strings.Builder
	r := bufio.NewReaderSize(body, 16<<10)
	for {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return nil, plugins.Errorf(plugins.Limit, "llm: %s sent an event line over 16 KiB", c.host)
		}
		data, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r\n"), []byte("data:"))
		data = bytes.TrimSpace(data)
		switch {
		case ok && string(data) == "[DONE]":
			out.Text = text.String()
			return out, nil
		case ok && len(data) > 0:
			var a answer
			if err := json.Unmarshal(data, &a); err != nil {
				return nil, malformed(c, err, data)
			}
			if a.Error != nil {
				// A service that fails once it has begun says so in an
				// event, and may have sent text already: not retried.
				return nil, plugins.Errorf(plugins.Internal, "llm: the stream of %s broke off: %s", c.host, cmp.Or(a.Error.Message, excerpt(data, 200)))
			}
			out.Model = cmp.Or(a.Model, out.Model)
			if a.Usage != nil {
				out.Usage = *a.Usage
			}
			if len(a.Choices) > 0 {
				ch := a.Choices[0]
				piece := ch.Text
				if c.api == "chat" {
					var m message
					_ = json.Unmarshal(ch.Delta, &m)
					piece = m.Content
				}
				if piece != nil && *piece != "" {
					text.WriteString(*piece)
					if emit != nil {
						emit(*piece)
					}
				}
				if ch.FinishReason != nil {
					out.FinishReason = *ch.FinishReason
				}
			}
		}
		if err == io.EOF {
			return nil, plugins.Errorf(plugins.Retryable, "llm: the stream of %s ended before [DONE]", c.host)
		}
		if err != nil {
			return nil, err
		}
		if text.Len() > granthttp.MaxResponseBody {
			return nil, plugins.Errorf(plugins.Limit, "llm: the answer of %s is over the 10 MiB limit", c.host)
		}
	}
}

// sleepCtx waits for d or for ctx to end.
func sleepCtx(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

var (
	_ plugins.Streamer       = llmFunc{}
	_ plugins.Metered        = llmFunc{}
	_ plugins.LiteralChecker = llmFunc{}
)
