package cloudcli

import (
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/storage"
	"github.com/barmancloud/barman-cloud/shared/wal"
)

// OpenStore is the prologue every tool runs before it touches the storage:
// it checks the server name (a usage error, exit status 3), parses rawURL
// for the run's --cloud-provider and opens it with the common provider
// options, completed by opts (a tool's own upload options). It does not
// contact the storage. An invalid URL or a client that cannot be built is
// Barman's "exception while building the client": exit status 4.
func (r *Run) OpenStore(rawURL, server string, opts storage.Options) (*storage.Store, error) {
	if err := wal.CheckServer(server); err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, err)
	}
	loc, err := storage.ParseURL(storage.Provider(r.Common.CloudProvider), rawURL)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.General, err)
	}
	opts.EndpointURL = r.Common.EndpointURL
	opts.AWSProfile = r.Common.AWSProfile
	opts.ReadTimeout = r.Common.ReadTimeout
	opts.AzureCredential = r.Common.AzureCredential
	opts.LookupEnv = r.LookupEnv
	opts.Log = r.Log
	if loc.Emulated {
		r.Log.Info().Msg("Using emulated storage URL")
	}
	s, err := storage.Open(r.Ctx, loc, opts)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.General, err)
	}
	return s, nil
}

// WithStore opens the store (OpenStore) and, with -t/--test, runs Barman's
// connectivity test (the storage must answer and the bucket exist) and
// nothing else; otherwise it runs fn with the store. The store is closed
// when fn returns.
func (r *Run) WithStore(rawURL, server string, opts storage.Options, fn func(*storage.Store) error) error {
	s, err := r.OpenStore(rawURL, server, opts)
	if err != nil {
		return err
	}
	defer s.Close()
	if r.Common.Test {
		return s.Verify(r.Ctx)
	}
	return fn(s)
}
