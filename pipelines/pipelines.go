// Package pipelines holds the pipelines that ship inside the nectar binary:
// the credential provider and token generator of Digibee's OAuth2
// integration model, and the standard OAuth2 endpoints built on them
// (token, introspection, revocation, authorization-server metadata). They
// are plain Nectar pipelines — YAML files embedded in FS — served by
// nectar serve next to the user's own and runnable by name with nectar
// run; a file of the same pipeline name in the served folder replaces one.
//
// The pipelines use the verify-key connector (connectors/verifykey: a
// caller's key checked against one held by an environment variable or an
// account, without the expected key ever entering the message), which this
// package imports so that it is registered wherever they are loaded. The
// package also provides Load and AddTo, the one loader of these files
// (nectar serve and nectar run both use it; a user's pipeline replaces a
// shipped one by pipeline name, and a file that does not load is
// reported), AccountKeys, the accounts-backed jwt.KeySource that creates
// the signing keys on first use, and SetIssuer, which decides the OAuth2
// issuer once for the tokens and the metadata. See README.md for the
// design: token formats, rotation with reuse detection, what a
// verification costs.
package pipelines

import (
	"embed"
	"io/fs"

	"github.com/nectar-run/nectar/connectors/objectstore"
	_ "github.com/nectar-run/nectar/connectors/verifykey" // the pipelines' verify-key steps
	"github.com/nectar-run/nectar/store"
)

// ClientsCollection is the object-store collection of the OAuth2 clients
// (the oauth_clients global's default): read on every token request,
// written when a client is created or deleted. It is declared read-mostly
// (store.CacheReads), so that a replica on PostgreSQL answers the read from
// memory, and learns of a deleted client from the database's notification
// (within postgres.DefaultCacheMaxAge in any case).
const ClientsCollection = "oauth-clients"

func init() { store.CacheReads(objectstore.BucketPrefix + ClientsCollection) }

//go:embed *.yaml
var files embed.FS

// FS holds the shipped pipeline files, one pipeline per .yaml file at its
// root.
var FS fs.FS = files
