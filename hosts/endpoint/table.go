package endpoint

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weirflow/weir/engine"
	"github.com/weirflow/weir/hosts/endpoint/internal/tensor"
)

// table routes requests to versions of flows. It is never changed once
// stored in Server.table: a change builds a new table, so a request reads
// one consistent table without a lock.
type table struct {
	flows map[string]*route
	// order lists the flows by first deployment: order[0] is the default
	// flow, which /score runs.
	order []string

	openapiOnce sync.Once
	openapi     []byte
	swaggerOnce sync.Once
	swaggerJSON []byte
}

// route is one flow: its versions and how its traffic splits.
type route struct {
	name     string
	versions []*version // oldest first
	// split holds the weights set through the admin API; nil means the
	// newest version takes all the traffic.
	split map[string]int
	// picks are the versions with a weight, cum their cumulative weights,
	// the last being 100.
	picks []*version
	cum   []int
}

// version is one deployed version of a flow. It is immutable: a run keeps
// the version it started on whatever the table becomes.
type version struct {
	name    string
	flow    *engine.Flow
	digest  string
	created time.Time
	nodes   int
	inputs  []engine.Input // the flow's, for /score's bodies
	oip     *tensor.Model  // the flow as a model of the Open Inference Protocol
}

func (s *Server) newVersion(name string, f *engine.Flow, digest string) *version {
	return &version{name: name, flow: f, digest: digest, created: time.Now().UTC(), nodes: len(f.Nodes()), inputs: f.Inputs(), oip: tensor.ForFlow(f)}
}

// with returns a copy of t in which r replaces the route of its name.
func (t *table) with(r *route) *table {
	nt := &table{flows: maps.Clone(t.flows), order: t.order}
	if _, ok := t.flows[r.name]; !ok {
		nt.order = append(slices.Clone(t.order), r.name)
	}
	nt.flows[r.name] = r
	return nt
}

// without returns a copy of t without the flow called name.
func (t *table) without(name string) *table {
	nt := &table{flows: maps.Clone(t.flows)}
	delete(nt.flows, name)
	for _, n := range t.order {
		if n != name {
			nt.order = append(nt.order, n)
		}
	}
	return nt
}

// pick chooses the version a request runs on, at random by weight.
func (r *route) pick() *version {
	if len(r.picks) == 1 {
		return r.picks[0]
	}
	n := rand.IntN(100)
	for i, c := range r.cum {
		if n < c {
			return r.picks[i]
		}
	}
	return r.picks[len(r.picks)-1]
}

func (r *route) version(name string) *version {
	for _, v := range r.versions {
		if v.name == name {
			return v
		}
	}
	return nil
}

// weight returns the percentage of the flow's requests v takes.
func (r *route) weight(v *version) int {
	if r.split == nil {
		if v == r.versions[len(r.versions)-1] {
			return 100
		}
		return 0
	}
	return r.split[v.name]
}

// build computes picks and cum from versions and split.
func (r *route) build() *route {
	r.picks, r.cum = nil, nil
	total := 0
	for _, v := range r.versions {
		if w := r.weight(v); w > 0 {
			total += w
			r.picks = append(r.picks, v)
			r.cum = append(r.cum, total)
		}
	}
	return r
}

// with returns a copy of r with v added as its newest version.
func (r *route) with(v *version) *route {
	return (&route{name: r.name, versions: append(slices.Clone(r.versions), v), split: r.split}).build()
}

// withSplit returns a copy of r with the weights set, or an error saying
// what is wrong with them: each must be 0 or more, name a version, and all
// must sum to 100.
func (r *route) withSplit(weights map[string]int) (*route, error) {
	sum := 0
	split := make(map[string]int, len(weights))
	for _, name := range slices.Sorted(maps.Keys(weights)) {
		w := weights[name]
		if r.version(name) == nil {
			return nil, fmt.Errorf("no version %q (versions: %s)", name, r.versionList())
		}
		if w < 0 {
			return nil, fmt.Errorf("the weight of version %q is %d: weights are 0 or more", name, w)
		}
		sum += w
		if w > 0 {
			split[name] = w
		}
	}
	if sum != 100 {
		return nil, fmt.Errorf("the weights sum to %d, not 100", sum)
	}
	return (&route{name: r.name, versions: r.versions, split: split}).build(), nil
}

// without returns a copy of r without version v, or an error when v takes
// traffic under a split that was set: move its traffic first.
func (r *route) without(v *version) (*route, error) {
	if w := r.weight(v); r.split != nil && w > 0 {
		return nil, fmt.Errorf("version %q takes %d%% of the traffic: set a split without it first", v.name, w)
	}
	nr := &route{name: r.name, split: r.split}
	for _, o := range r.versions {
		if o != v {
			nr.versions = append(nr.versions, o)
		}
	}
	return nr.build(), nil
}

func (r *route) versionList() string {
	names := make([]string, len(r.versions))
	for i, v := range r.versions {
		names[i] = v.name
	}
	return strings.Join(names, ", ")
}

// deployment describes version v of r in table t.
func (r *route) deployment(v *version, t *table) Deployment {
	return Deployment{
		Flow:    r.name,
		Version: v.name,
		Digest:  v.digest,
		Weight:  r.weight(v),
		Default: len(t.order) > 0 && t.order[0] == r.name,
		Created: v.created,
	}
}

// deployments lists every version of every flow in t, flows in deployment
// order, versions oldest first.
func (t *table) deployments() []Deployment {
	out := []Deployment{}
	for _, name := range t.order {
		r := t.flows[name]
		for _, v := range r.versions {
			out = append(out, r.deployment(v, t))
		}
	}
	return out
}

// hasDigest reports whether a version in t was deployed from the bundle
// with digest.
func (t *table) hasDigest(digest string) bool {
	for _, r := range t.flows {
		for _, v := range r.versions {
			if v.digest == digest {
				return true
			}
		}
	}
	return false
}
