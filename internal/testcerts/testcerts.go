// Package testcerts makes throwaway certificate authorities and the
// certificates they sign, for tests of TLS against real servers.
package testcerts

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority valid for the test that made it.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// File holds its certificate, PEM-encoded.
	File string
}

// NewCA makes a CA and writes its certificate as name.pem in dir.
func NewCA(t testing.TB, dir, name string) *CA {
	t.Helper()
	tmpl := template(name)
	tmpl.IsCA = true
	tmpl.KeyUsage = x509.KeyUsageCertSign
	tmpl.BasicConstraintsValid = true
	ca := &CA{File: filepath.Join(dir, name+".pem")}
	var der []byte
	ca.cert, ca.key, der = sign(t, tmpl, nil)
	writePEM(t, ca.File, "CERTIFICATE", der)
	return ca
}

// Leaf makes a certificate for ip signed by the CA, good for a server and
// a client, writes it as name.pem and its key as name-key.pem in dir, and
// returns both files.
func (ca *CA) Leaf(t testing.TB, dir, name, ip string) (cert, key string) {
	t.Helper()
	tmpl := template(name)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	tmpl.IPAddresses = []net.IP{net.ParseIP(ip)}
	_, k, der := sign(t, tmpl, ca)
	keyDER, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	writePEM(t, cert, "CERTIFICATE", der)
	writePEM(t, key, "EC PRIVATE KEY", keyDER)
	return cert, key
}

// template is a certificate for name, valid from an hour ago for two.
func template(name string) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
}

// sign makes a key and the certificate of tmpl for it, signed by ca, or
// by itself when ca is nil.
func sign(t testing.TB, tmpl *x509.Certificate, ca *CA) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	parent, parentKey := tmpl, key
	if ca != nil {
		parent, parentKey = ca.cert, ca.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key, der
}

func writePEM(t testing.TB, file, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
