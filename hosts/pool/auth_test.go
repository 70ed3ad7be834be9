package pool

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startNATS runs a nats-server as o says, on a free loopback port, for
// what StartServer does not set up: NKey users and operator JWTs.
func startNATS(t *testing.T, o *server.Options) string {
	t.Helper()
	o.Host, o.Port, o.NoLog, o.NoSigs = "127.0.0.1", server.RANDOM_PORT, true, true
	s, err := server.NewServer(o)
	require.NoError(t, err)
	s.Start()
	t.Cleanup(s.Shutdown)
	require.True(t, s.ReadyForConnections(30*time.Second))
	return s.ClientURL()
}

// TestNoJetStream: a server without JetStream is an error that says so.
func TestNoJetStream(t *testing.T) {
	t.Parallel()
	url := startNATS(t, &server.Options{})
	c := connect(t, Options{URL: url})
	_, err := List(context.Background(), c)
	assert.EqualError(t, err, "list pools: JetStream is not enabled on the NATS server at "+url+": start it with -js (weir pool serve has it on)")
	_, err = Open(context.Background(), c, "demo")
	assert.EqualError(t, err, `open pool "demo": JetStream is not enabled on the NATS server at `+url+": start it with -js (weir pool serve has it on)")
}

// writeKey writes kp's seed into a file of dir and returns the file.
func writeKey(t *testing.T, dir, name string, kp nkeys.KeyPair) string {
	t.Helper()
	seed, err := kp.Seed()
	require.NoError(t, err)
	file := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(file, seed, 0o600))
	return file
}

func TestConnectNKey(t *testing.T) {
	t.Parallel()
	user, err := nkeys.CreateUser()
	require.NoError(t, err)
	stranger, err := nkeys.CreateUser()
	require.NoError(t, err)
	pub, err := user.PublicKey()
	require.NoError(t, err)
	url := startNATS(t, &server.Options{Nkeys: []*server.NkeyUser{{Nkey: pub}}})
	dir := t.TempDir()

	c := connect(t, Options{URL: url, NKeyFile: writeKey(t, dir, "user.nk", user)})
	assert.Equal(t, url, c.URL())

	strangerFile := writeKey(t, dir, "stranger.nk", stranger)
	_, err = Connect(context.Background(), Options{URL: url, NKeyFile: strangerFile})
	assert.EqualError(t, err, "connect to "+url+": authorization failed: the server refused the nkey of "+strangerFile)
}

// TestConnectCreds connects with a .creds file to a server in operator
// mode, as NGS or a server set up with nsc is.
func TestConnectCreds(t *testing.T) {
	t.Parallel()
	operator, err := nkeys.CreateOperator()
	require.NoError(t, err)
	opPub, err := operator.PublicKey()
	require.NoError(t, err)
	opClaims := jwt.NewOperatorClaims(opPub)
	account, err := nkeys.CreateAccount()
	require.NoError(t, err)
	accPub, err := account.PublicKey()
	require.NoError(t, err)
	accJWT, err := jwt.NewAccountClaims(accPub).Encode(operator)
	require.NoError(t, err)
	resolver := &server.MemAccResolver{}
	require.NoError(t, resolver.Store(accPub, accJWT))
	url := startNATS(t, &server.Options{TrustedOperators: []*jwt.OperatorClaims{opClaims}, AccountResolver: resolver})
	dir := t.TempDir()

	// creds writes a .creds file of a new user signed by signer.
	creds := func(name string, signer nkeys.KeyPair) string {
		user, err := nkeys.CreateUser()
		require.NoError(t, err)
		userPub, err := user.PublicKey()
		require.NoError(t, err)
		claims := jwt.NewUserClaims(userPub)
		claims.IssuerAccount = accPub
		userJWT, err := claims.Encode(signer)
		require.NoError(t, err)
		seed, err := user.Seed()
		require.NoError(t, err)
		b, err := jwt.FormatUserConfig(userJWT, seed)
		require.NoError(t, err)
		file := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(file, b, 0o600))
		return file
	}

	connect(t, Options{URL: url, CredsFile: creds("user.creds", account)})

	other, err := nkeys.CreateAccount()
	require.NoError(t, err)
	forged := creds("forged.creds", other)
	_, err = Connect(context.Background(), Options{URL: url, CredsFile: forged})
	assert.EqualError(t, err, "connect to "+url+": authorization failed: the server refused the creds file "+forged)
}
