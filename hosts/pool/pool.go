package pool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrNoPool is wrapped by the error of a pool that does not exist.
var ErrNoPool = errors.New("no such pool")

// Settings are a pool's, chosen when it is created.
type Settings struct {
	// Replicas is how many servers of a cluster keep each stream (1).
	Replicas int
	// MaxDeliver is how many times a line is delivered before it goes to
	// the dead letters (5).
	MaxDeliver int
	// AckWait is how long a worker may hold a line without a sign of life
	// before the line goes to another worker (30s). Workers extend it
	// while a long line runs.
	AckWait time.Duration
}

// The defaults of Settings.
const (
	defaultMaxDeliver = 5
	defaultAckWait    = 30 * time.Second
)

func (s Settings) withDefaults() Settings {
	if s.Replicas <= 0 {
		s.Replicas = 1
	}
	if s.MaxDeliver <= 0 {
		s.MaxDeliver = defaultMaxDeliver
	}
	if s.AckWait <= 0 {
		s.AckWait = defaultAckWait
	}
	return s
}

// Pool is a pool's JetStream resources, opened on a connection.
type Pool struct {
	c        *Conn
	name     string
	settings Settings
	work     jetstream.Stream
	results  jetstream.Stream
	dead     jetstream.Stream
	kv       jetstream.KeyValue
	bundles  jetstream.ObjectStore
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// CheckName reports whether name can name a pool: up to 64 letters,
// digits, '-' and '_', starting with a letter or digit.
func CheckName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("pool name %q: use up to 64 letters, digits, '-' and '_', starting with a letter or digit", name)
	}
	return nil
}

// The names of a pool's resources.
func workStream(name string) string    { return "WEIR_POOL_" + name + "_WORK" }
func resultsStream(name string) string { return "WEIR_POOL_" + name + "_RESULTS" }
func deadStream(name string) string    { return "WEIR_POOL_" + name + "_DEAD" }
func bucket(name string) string        { return "WEIR_POOL_" + name }
func bundleStore(name string) string   { return "WEIR_POOL_" + name + "_BUNDLES" }

// workersConsumer is the durable consumer every worker pulls lines from.
const workersConsumer = "workers"

// deadConsumer is the durable consumer that turns dead letters into
// failed results; workers and collecting batches share it.
const deadConsumer = "dead"

// maxWaiting bounds the pulls the work consumer keeps waiting: the free
// slots of all workers, one pull each.
const maxWaiting = 16384

// settingsKey holds the pool's Settings in its bucket.
const settingsKey = "settings"

// subjects of pool name.
func workSubject(name, job string) string { return "weir.pool." + name + ".work." + job }
func resultSubject(name, job string, line int) string {
	return fmt.Sprintf("weir.pool.%s.results.%s.%d", name, job, line)
}
func runSubject(name string) string { return "weir.pool." + name + ".run" }

// maxDeliveriesAdvisory is the subject of the server's advisories of
// messages of the work stream that reached max-deliver.
func maxDeliveriesAdvisory(name string) string {
	return "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + workStream(name) + "." + workersConsumer
}

// dedupWindow is how long the streams remember message ids: a line
// published again within it (a restarted submitter) is dropped, and so is a
// second result of a line (a worker that ran it twice).
const dedupWindow = 2 * time.Hour

// resultsMaxAge is how long results are kept for a submitter that comes
// back (weir runs wait).
const resultsMaxAge = 7 * 24 * time.Hour

// Create makes pool name on c's server with settings s (zero fields take
// their defaults). Creating a pool that exists with the same settings
// opens it; with other settings it is an error.
func Create(ctx context.Context, c *Conn, name string, s Settings) (*Pool, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	if old, err := Open(ctx, c, name); err == nil {
		if old.settings != s {
			return nil, fmt.Errorf("create pool %q: it exists with other settings (%s); delete it first to change them", name, old.settings)
		}
		return old, nil
	} else if !errors.Is(err, ErrNoPool) {
		return nil, err
	}
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	js := c.JetStream()
	streams := []jetstream.StreamConfig{
		{
			Name:        workStream(name),
			Description: "weir pool " + name + ": lines to run",
			Subjects:    []string{"weir.pool." + name + ".work.>"},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    s.Replicas,
			Duplicates:  dedupWindow,
		},
		{
			Name:        resultsStream(name),
			Description: "weir pool " + name + ": results of lines",
			Subjects:    []string{"weir.pool." + name + ".results.>"},
			Storage:     jetstream.FileStorage,
			Replicas:    s.Replicas,
			Duplicates:  dedupWindow,
			MaxAge:      resultsMaxAge,
		},
		{
			Name:        deadStream(name),
			Description: "weir pool " + name + ": lines delivered max-deliver times",
			Subjects:    []string{maxDeliveriesAdvisory(name)},
			Retention:   jetstream.WorkQueuePolicy,
			Storage:     jetstream.FileStorage,
			Replicas:    s.Replicas,
		},
	}
	for _, cfg := range streams {
		if _, err := js.CreateStream(ctx, cfg); err != nil {
			return nil, c.fail(fmt.Sprintf("create pool %q: stream %s", name, cfg.Name), err)
		}
	}
	if _, err := js.CreateConsumer(ctx, workStream(name), jetstream.ConsumerConfig{
		Durable:       workersConsumer,
		Description:   "weir workers",
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       s.AckWait,
		MaxDeliver:    s.MaxDeliver,
		MaxAckPending: -1,
		// Each free slot of each worker waits on a pull of its own.
		MaxWaiting: maxWaiting,
		Replicas:   s.Replicas,
	}); err != nil {
		return nil, c.fail(fmt.Sprintf("create pool %q: consumer", name), err)
	}
	if _, err := js.CreateConsumer(ctx, deadStream(name), jetstream.ConsumerConfig{
		Durable:   deadConsumer,
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   30 * time.Second,
		Replicas:  s.Replicas,
	}); err != nil {
		return nil, c.fail(fmt.Sprintf("create pool %q: dead-letter consumer", name), err)
	}
	if _, err := js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      bundleStore(name),
		Description: "weir pool " + name + ": bundles by digest",
		Storage:     jetstream.FileStorage,
		Replicas:    s.Replicas,
	}); err != nil {
		return nil, c.fail(fmt.Sprintf("create pool %q: bundle store", name), err)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket(name),
		Description: "weir pool " + name + ": settings and workers",
		Storage:     jetstream.FileStorage,
		Replicas:    s.Replicas,
	})
	if err != nil {
		return nil, c.fail(fmt.Sprintf("create pool %q: bucket", name), err)
	}
	b, _ := json.Marshal(s)
	// The settings go last: a pool whose creation was cut short has none,
	// and Open says so.
	if _, err := kv.Put(ctx, settingsKey, b); err != nil {
		return nil, c.fail(fmt.Sprintf("create pool %q: settings", name), err)
	}
	return Open(ctx, c, name)
}

// settingsJSON is Settings as JSON spells them: the ack wait as a
// duration such as "30s".
type settingsJSON struct {
	Replicas   int    `json:"replicas"`
	MaxDeliver int    `json:"max_deliver"`
	AckWait    string `json:"ack_wait"`
}

// MarshalJSON spells the ack wait as a duration, "30s".
func (s Settings) MarshalJSON() ([]byte, error) {
	return json.Marshal(settingsJSON{s.Replicas, s.MaxDeliver, s.AckWait.String()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Settings) UnmarshalJSON(b []byte) error {
	var j settingsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	d, err := time.ParseDuration(j.AckWait)
	if err != nil {
		return fmt.Errorf("ack_wait: %w", err)
	}
	*s = Settings{Replicas: j.Replicas, MaxDeliver: j.MaxDeliver, AckWait: d}
	return nil
}

func (s Settings) String() string {
	return fmt.Sprintf("replicas %d, max-deliver %d, ack-wait %s", s.Replicas, s.MaxDeliver, s.AckWait)
}

// Open opens pool name on c's server. A pool that does not exist is an
// error wrapping ErrNoPool.
func Open(ctx context.Context, c *Conn, name string) (*Pool, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	js := c.JetStream()
	p := &Pool{c: c, name: name}
	var err error
	if p.kv, err = js.KeyValue(ctx, bucket(name)); err != nil {
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			return nil, fmt.Errorf("open pool %q: %w", name, ErrNoPool)
		}
		return nil, c.fail(fmt.Sprintf("open pool %q", name), err)
	}
	e, err := p.kv.Get(ctx, settingsKey)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil, fmt.Errorf("open pool %q: %w (its creation did not finish: create it again)", name, ErrNoPool)
		}
		return nil, c.fail(fmt.Sprintf("open pool %q", name), err)
	}
	if err := json.Unmarshal(e.Value(), &p.settings); err != nil {
		return nil, fmt.Errorf("open pool %q: its settings do not read: %w", name, err)
	}
	for _, s := range []struct {
		name string
		dst  *jetstream.Stream
	}{{workStream(name), &p.work}, {resultsStream(name), &p.results}, {deadStream(name), &p.dead}} {
		if *s.dst, err = js.Stream(ctx, s.name); err != nil {
			if errors.Is(err, jetstream.ErrStreamNotFound) {
				return nil, fmt.Errorf("open pool %q: stream %s is missing: %w (delete it and create it again)", name, s.name, ErrNoPool)
			}
			return nil, c.fail(fmt.Sprintf("open pool %q", name), err)
		}
	}
	if p.bundles, err = js.ObjectStore(ctx, bundleStore(name)); err != nil {
		return nil, c.fail(fmt.Sprintf("open pool %q: bundle store", name), err)
	}
	return p, nil
}

// List returns the names of the pools on c's server, sorted.
func List(ctx context.Context, c *Conn) ([]string, error) {
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	names := c.JetStream().KeyValueStoreNames(ctx)
	var pools []string
	for n := range names.Name() {
		if name, ok := strings.CutPrefix(n, "WEIR_POOL_"); ok {
			pools = append(pools, name)
		}
	}
	if err := names.Error(); err != nil {
		return nil, c.fail("list pools", err)
	}
	slices.Sort(pools)
	return pools, nil
}

// Delete removes pool name and everything in it: lines waiting, results,
// bundles. Deleting a pool that does not exist is an error wrapping
// ErrNoPool.
func Delete(ctx context.Context, c *Conn, name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	js := c.JetStream()
	found := false
	gone := func(err error) bool {
		return errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrBucketNotFound)
	}
	// The bucket goes last, as Create makes it last: a pool half deleted
	// still opens as broken, and deleting it again finishes.
	for _, s := range []string{workStream(name), resultsStream(name), deadStream(name)} {
		if err := js.DeleteStream(ctx, s); err == nil {
			found = true
		} else if !gone(err) {
			return c.fail(fmt.Sprintf("delete pool %q", name), err)
		}
	}
	if err := js.DeleteObjectStore(ctx, bundleStore(name)); err == nil {
		found = true
	} else if !gone(err) {
		return c.fail(fmt.Sprintf("delete pool %q", name), err)
	}
	if err := js.DeleteKeyValue(ctx, bucket(name)); err == nil {
		found = true
	} else if !gone(err) {
		return c.fail(fmt.Sprintf("delete pool %q", name), err)
	}
	if !found {
		return fmt.Errorf("delete pool %q: %w", name, ErrNoPool)
	}
	return nil
}

// Name returns the pool's name.
func (p *Pool) Name() string { return p.name }

// Settings returns the pool's settings.
func (p *Pool) Settings() Settings { return p.settings }

// Conn returns the connection the pool was opened on.
func (p *Pool) Conn() *Conn { return p.c }

// Status is how a pool is doing.
type Status struct {
	Name     string       `json:"name"`
	Settings Settings     `json:"settings"`
	Workers  []WorkerInfo `json:"workers"`
	// Queued counts the lines waiting for a worker; InFlight those a worker
	// holds and has not acked; Redelivered the deliveries of lines beyond
	// their first since the pool was created (a worker died holding them,
	// or handed them back).
	Queued      uint64 `json:"queued"`
	InFlight    int    `json:"in_flight"`
	Redelivered uint64 `json:"redelivered"`
	// Dead counts the lines that went to the dead letters since the pool
	// was created (DeadWaiting of them not yet turned into failed results).
	Dead        uint64 `json:"dead"`
	DeadWaiting uint64 `json:"dead_waiting"`
	// Results counts the results the pool keeps; Bundles the bundles.
	Results uint64 `json:"results"`
	Bundles int    `json:"bundles"`
}

// WorkerInfo is what a worker says of itself in its heartbeats.
type WorkerInfo struct {
	ID          string            `json:"id"`
	Host        string            `json:"host"`
	PID         int               `json:"pid"`
	Labels      map[string]string `json:"labels,omitempty"`
	Concurrency int               `json:"concurrency"`
	Started     time.Time         `json:"started"`
	Heartbeat   time.Time         `json:"heartbeat"`
	// Running counts the lines and runs it holds now; Lines the lines it
	// finished, Runs the single runs it answered.
	Running int   `json:"running"`
	Lines   int64 `json:"lines"`
	Runs    int64 `json:"runs"`
	// Draining is set once the worker stopped pulling, to finish what it
	// holds and exit.
	Draining bool `json:"draining,omitempty"`
}

// heartbeatEvery is how often a worker writes its WorkerInfo.
const heartbeatEvery = 2 * time.Second

// Lost reports whether the worker missed its heartbeats at now: it died
// without saying so (a kill, a lost machine).
func (w WorkerInfo) Lost(now time.Time) bool { return now.Sub(w.Heartbeat) > 3*heartbeatEvery }

// lostKept is how long a lost worker stays in Status before it is pruned.
const lostKept = time.Hour

// Status reports the pool's workers and queues.
func (p *Pool) Status(ctx context.Context) (*Status, error) {
	ctx, cancel := p.c.callContext(ctx)
	defer cancel()
	st := &Status{Name: p.name, Settings: p.settings, Workers: []WorkerInfo{}}
	fail := func(err error) (*Status, error) { return nil, p.c.fail(fmt.Sprintf("pool %q: status", p.name), err) }
	work, err := p.work.Info(ctx)
	if err != nil {
		return fail(err)
	}
	st.Queued = work.State.Msgs
	cons, err := p.work.Consumer(ctx, workersConsumer)
	if err != nil {
		return fail(err)
	}
	ci, err := cons.Info(ctx)
	if err != nil {
		return fail(err)
	}
	st.InFlight = ci.NumAckPending
	// Every line is delivered to the one consumer: deliveries beyond the
	// stream's messages are redeliveries.
	if ci.Delivered.Consumer > ci.Delivered.Stream {
		st.Redelivered = ci.Delivered.Consumer - ci.Delivered.Stream
	}
	if st.Queued >= uint64(ci.NumAckPending) {
		st.Queued -= uint64(ci.NumAckPending)
	}
	dead, err := p.dead.Info(ctx)
	if err != nil {
		return fail(err)
	}
	st.Dead, st.DeadWaiting = dead.State.LastSeq, dead.State.Msgs
	res, err := p.results.Info(ctx)
	if err != nil {
		return fail(err)
	}
	st.Results = res.State.Msgs
	if objs, err := p.bundles.List(ctx); err == nil {
		st.Bundles = len(objs)
	} else if !errors.Is(err, jetstream.ErrNoObjectsFound) {
		return fail(err)
	}
	keys, err := p.kv.ListKeys(ctx)
	if err != nil {
		return fail(err)
	}
	now := time.Now()
	for k := range keys.Keys() {
		if !strings.HasPrefix(k, workerKeyPrefix) {
			continue
		}
		e, err := p.kv.Get(ctx, k)
		if err != nil {
			continue // gone meanwhile
		}
		var w WorkerInfo
		if json.Unmarshal(e.Value(), &w) != nil {
			continue
		}
		if now.Sub(w.Heartbeat) > lostKept {
			_ = p.kv.Delete(ctx, k)
			continue
		}
		st.Workers = append(st.Workers, w)
	}
	slices.SortFunc(st.Workers, func(a, b WorkerInfo) int { return strings.Compare(a.ID, b.ID) })
	return st, nil
}

// workerKeyPrefix starts the keys of the workers' heartbeats.
const workerKeyPrefix = "workers."
