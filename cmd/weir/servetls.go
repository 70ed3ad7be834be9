package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// serveTLS is the TLS of weir serve's listeners, HTTP and gRPC alike, from
// --tls-cert and --tls-key, with --tls-ca asking clients for a certificate
// that CA signed; nil without them.
func serveTLS(cert, key, ca string) (*tls.Config, error) {
	switch {
	case cert == "" && key == "" && ca == "":
		return nil, nil
	case (cert == "") != (key == ""):
		return nil, usageError{errors.New("--tls-cert and --tls-key go together")}
	case cert == "":
		return nil, usageError{errors.New("--tls-ca needs --tls-cert and --tls-key")}
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s and --tls-key %s: %w", cert, key, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		cfg.ClientCAs = x509.NewCertPool()
		if !cfg.ClientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--tls-ca %s: no PEM certificate in it", ca)
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}
