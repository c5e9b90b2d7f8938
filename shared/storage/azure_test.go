package storage

import (
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/barmancloud/barman-cloud/shared/tags"
)

func TestAzureChecksums(t *testing.T) {
	for url, want := range map[string]bool{
		"https://acct.blob.core.windows.net/cont":      true,
		"https://acct.blob.core.chinacloudapi.cn/cont": true,
		"http://127.0.0.1:10000/devstoreaccount1/cont": false,
		"http://127.8.0.1:10000/devstoreaccount1/cont": false,
		"http://[::1]:10000/devstoreaccount1/cont":     false,
		"http://localhost:10000/devstoreaccount1/cont": false,
		"http://azurite.internal:10000/devstore1/cont": true,
		"http://10.0.0.5:10000/devstoreaccount1/cont":  true,
	} {
		if got := azureChecksums(url); got != want {
			t.Errorf("azureChecksums(%q) = %v, want %v", url, got, want)
		}
	}
}

// TestAzureUploadOptions checks what the BeforeWrite hook sets on the SDK's
// upload: tags, the encryption scope and, for a real account, CRC64s.
func TestAzureUploadOptions(t *testing.T) {
	t.Setenv("AZURE_STORAGE_KEY", "a2V5")
	t.Setenv("AZURE_STORAGE_CONNECTION_STRING", "")
	emulator := "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
	for _, tc := range []struct {
		url, connectionString string
		crc64                 bool
	}{
		{"https://acct.blob.core.windows.net/cont/p", "", true},
		{"http://127.0.0.1:10000/devstoreaccount1/cont/p", emulator, false},
	} {
		t.Setenv("AZURE_STORAGE_CONNECTION_STRING", tc.connectionString)
		loc, err := ParseURL(Azure, tc.url)
		if err != nil {
			t.Fatal(err)
		}
		s, err := Open(t.Context(), loc, Options{EncryptionScope: "scope1"})
		if err != nil {
			t.Fatal(err)
		}
		wo, err := s.writerOptions(UploadOptions{Tags: tags.List{{Key: "k", Value: "v"}}})
		if err != nil {
			t.Fatal(err)
		}
		o := &azblob.UploadStreamOptions{}
		if err := wo.BeforeWrite(func(i any) bool {
			p, ok := i.(**azblob.UploadStreamOptions)
			if ok {
				*p = o
			}
			return ok
		}); err != nil {
			t.Fatal(err)
		}
		if (o.TransactionalValidation != nil) != tc.crc64 {
			t.Errorf("%s: CRC64 %v, want %v", tc.url, o.TransactionalValidation != nil, tc.crc64)
		}
		if o.Tags["k"] != "v" || o.CPKScopeInfo == nil || *o.CPKScopeInfo.EncryptionScope != "scope1" {
			t.Errorf("%s: tags %v, scope %v", tc.url, o.Tags, o.CPKScopeInfo)
		}
		s.Close()
	}
}
