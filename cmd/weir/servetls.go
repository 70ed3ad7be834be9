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
	if err := checkTLSFlags(cert, key, ca); err != nil || cert == "" {
		return nil, err
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s and --tls-key %s: %w", cert, key, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	if ca != "" {
		cfg.ClientCAs = x509.NewCertPool()
		if err := addCAs(cfg.ClientCAs, ca); err != nil {
			return nil, fmt.Errorf("--tls-ca: %w", err)
		}
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// checkTLSFlags checks that a server's --tls-cert, --tls-key and --tls-ca
// go together: the first two or none, the third only with them.
func checkTLSFlags(cert, key, ca string) error {
	switch {
	case (cert == "") != (key == ""):
		return usageError{errors.New("--tls-cert and --tls-key go together")}
	case ca != "" && cert == "":
		return usageError{errors.New("--tls-ca needs --tls-cert and --tls-key")}
	}
	return nil
}

// addCAs adds the PEM certificates in file to pool.
func addCAs(pool *x509.CertPool, file string) error {
	pem, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if !pool.AppendCertsFromPEM(pem) {
		return fmt.Errorf("%s: no PEM certificate in it", file)
	}
	return nil
}
