// Package pyindex is a Python package index on loopback, speaking the
// simple repository API that pip reads (PEP 503), for the tests of Python
// tools whose requirements name packages that no index this machine
// reaches has. Each package is a wheel the test describes: its metadata,
// its dependencies and its files.
package pyindex

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
)

// Package is one wheel of the index.
type Package struct {
	Name    string
	Version string
	// Requires are its Requires-Dist lines, such as "beautifulsoup4".
	Requires []string
	// Files are its files by path inside the wheel ("pkg/__init__.py").
	Files map[string]string
}

// Server is an index on loopback.
type Server struct {
	srv    *httptest.Server
	wheels map[string][]byte   // by file name
	pages  map[string][]string // normalized project name -> wheel files
}

// Start serves pkgs; Close stops the server.
func Start(pkgs ...Package) *Server {
	s := &Server{wheels: map[string][]byte{}, pages: map[string][]string{}}
	for _, p := range pkgs {
		name := fmt.Sprintf("%s-%s-py3-none-any.whl", strings.ReplaceAll(normalize(p.Name), "-", "_"), p.Version)
		s.wheels[name] = wheel(p)
		s.pages[normalize(p.Name)] = append(s.pages[normalize(p.Name)], name)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL is the index's address, for pip's --index-url or PIP_INDEX_URL.
func (s *Server) URL() string { return s.srv.URL + "/simple/" }

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

var separators = regexp.MustCompile(`[-_.]+`)

// normalize is PEP 503's name normalization.
func normalize(name string) string { return strings.ToLower(separators.ReplaceAllString(name, "-")) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/simple/":
		names := make([]string, 0, len(s.pages))
		for n := range s.pages {
			names = append(names, n)
		}
		sort.Strings(names)
		var b strings.Builder
		b.WriteString("<!DOCTYPE html><html><body>\n")
		for _, n := range names {
			fmt.Fprintf(&b, "<a href=\"/simple/%s/\">%s</a>\n", n, n)
		}
		b.WriteString("</body></html>\n")
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, b.String())
	case strings.HasPrefix(r.URL.Path, "/simple/"):
		project := normalize(strings.Trim(strings.TrimPrefix(r.URL.Path, "/simple/"), "/"))
		files, ok := s.pages[project]
		if !ok {
			http.NotFound(w, r)
			return
		}
		var b strings.Builder
		b.WriteString("<!DOCTYPE html><html><body>\n")
		for _, f := range files {
			sum := sha256.Sum256(s.wheels[f])
			fmt.Fprintf(&b, "<a href=\"/files/%s#sha256=%s\">%s</a>\n", html.EscapeString(f), hex.EncodeToString(sum[:]), html.EscapeString(f))
		}
		b.WriteString("</body></html>\n")
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, b.String())
	case strings.HasPrefix(r.URL.Path, "/files/"):
		b, ok := s.wheels[strings.TrimPrefix(r.URL.Path, "/files/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	default:
		http.NotFound(w, r)
	}
}

// wheel builds a wheel (a zip with a .dist-info folder) of p.
func wheel(p Package) []byte {
	dist := fmt.Sprintf("%s-%s.dist-info", strings.ReplaceAll(normalize(p.Name), "-", "_"), p.Version)
	files := map[string]string{}
	for k, v := range p.Files {
		files[k] = v
	}
	meta := fmt.Sprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n", p.Name, p.Version)
	for _, r := range p.Requires {
		meta += "Requires-Dist: " + r + "\n"
	}
	files[dist+"/METADATA"] = meta
	files[dist+"/WHEEL"] = "Wheel-Version: 1.0\nGenerator: weir-pyindex\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var record strings.Builder
	for _, n := range names {
		sum := sha256.Sum256([]byte(files[n]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", n, b64(sum[:]), len(files[n]))
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", dist)
	files[dist+"/RECORD"] = record.String()
	names = append(names, dist+"/RECORD")
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, n := range names {
		f, _ := z.Create(n)
		f.Write([]byte(files[n]))
	}
	z.Close()
	return buf.Bytes()
}

// b64 is the URL-safe base64 without padding that RECORD files use.
func b64(b []byte) string {
	return strings.TrimRight(base64.URLEncoding.EncodeToString(b), "=")
}
