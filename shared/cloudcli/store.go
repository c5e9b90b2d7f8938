package cloudcli

import (
	"github.com/barmancloud/barman-cloud/shared/exitcode"
	"github.com/barmancloud/barman-cloud/shared/storage"
)

// OpenStore parses rawURL for the run's --cloud-provider and opens it with
// the common provider options, completed by opts (a tool's own upload
// options). Errors are Barman's "exception while building the client":
// exit status 4.
func (r *Run) OpenStore(rawURL string, opts storage.Options) (*storage.Store, error) {
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
